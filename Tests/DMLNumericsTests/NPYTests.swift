import Foundation
import Testing
import DMLNumerics

@Suite struct NPYTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-tests-\(UInt32.random(in: 0...UInt32.max))").path

    @Test func roundTripsEveryDType() throws {
        let arrays: [NPYArray] = [
            NPYArray(shape: [2, 3], values: .float32([1, 2, 3, 4, 5, 6])),
            NPYArray(shape: [3, 1], values: .float64([0.5, -1.25, 1e300])),
            NPYArray(shape: [4], values: .int32([1, -2, 3, Int32.max])),
            NPYArray(shape: [2], values: .int64([Int64.min, 7])),
            NPYArray(shape: [0, 5], values: .float32([])),
            NPYArray(shape: [1, 2, 2], values: .uint8([0, 7, 128, 255])),
        ]
        for (k, a) in arrays.enumerated() {
            let path = "\(directory)/a\(k).npy"
            try a.write(to: path)
            #expect(try NPYArray.read(from: path) == a)
            let bytes = a.encoded()
            #expect(bytes.count > 64)
            // The data starts at a multiple of 64 bytes, as NumPy writes it.
            #expect((bytes.count - a.values.count * a.dtype.size) % 64 == 0)
        }
    }

    @Test func matchesNumPysOwnBytes() throws {
        // numpy.save of np.array([[1, 2]], dtype='<f4'), header as NumPy 2 writes it.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count), 0])
        data.append(contentsOf: header.utf8)
        [Float(1), 2].withUnsafeBytes { data.append(contentsOf: $0) }
        #expect(NPYArray(Matrix<Float>([[1, 2]])).encoded() == data)
    }

    @Test func readsVersion2And3Headers() throws {
        for version: UInt8 in [2, 3] {
            var header = "{'shape': (2,), 'fortran_order': False, 'descr': '<i8'}"
            header += String(repeating: " ", count: (64 - (12 + header.count + 1) % 64) % 64) + "\n"
            var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0, UInt8(header.count), 0, 0, 0])
            data.append(contentsOf: header.utf8)
            [Int64(4), 9].withUnsafeBytes { data.append(contentsOf: $0) }
            let a = try NPYArray(npyData: data)
            #expect(try a.labels() == [4, 9])
        }
    }

    @Test func conversions() throws {
        let m = Matrix<Double>([[1, 2], [3, 4]])
        let a = NPYArray(m)
        #expect(a.dtype == .float64)
        #expect(try a.matrix(as: Double.self) == m)
        #expect(try a.matrix(as: Float.self) == Matrix<Float>([[1, 2], [3, 4]]))
        #expect(try NPYArray(labels: [3, 1]).labels() == [3, 1])
        #expect(try NPYArray(shape: [2], values: .float32([1, 2])).labels() == [1, 2])
        #expect(throws: NPYError.self) { try NPYArray(shape: [2], values: .float32([1, 2.5])).labels() }
        #expect(throws: NPYError.self) { try NPYArray(labels: [1]).matrix(as: Double.self) }
        #expect(throws: NPYError.self) { try NPYArray(shape: [1, 1, 1], values: .float32([1])).matrix(as: Float.self) }
    }

    @Test func badFilesGiveClearErrors() throws {
        func error(_ bytes: Data) -> String {
            do { _ = try NPYArray(npyData: bytes, source: "x.npy"); return "" } catch { return "\(error)" }
        }
        #expect(error(Data("hello world, not numpy".utf8)).contains("not a .npy file"))
        var good = NPYArray(shape: [2, 2], values: .float32([1, 2, 3, 4])).encoded()
        #expect(error(good.prefix(good.count - 3)).contains("truncated data"))
        #expect(error(good.prefix(20)).contains("truncated header"))
        let bigEndian = String(decoding: good, as: UTF8.self).contains("<f4")
        #expect(bigEndian)
        good.replaceSubrange(good.range(of: Data("<f4".utf8))!, with: Data(">f4".utf8))
        #expect(error(good).contains("big-endian"))
        var u8 = NPYArray(shape: [2, 2], values: .float32([1, 2, 3, 4])).encoded()
        u8.replaceSubrange(u8.range(of: Data("<f4".utf8))!, with: Data("<c8".utf8))
        #expect(error(u8).contains("unsupported dtype <c8"))
        var fortran = NPYArray(shape: [2, 2], values: .float32([1, 2, 3, 4])).encoded()
        fortran.replaceSubrange(fortran.range(of: Data("False".utf8))!, with: Data("True ".utf8))
        #expect(error(fortran).contains("Fortran-order"))
        #expect(throws: NPYError.self) { try NPYArray.read(from: "/nonexistent/file.npy") }
    }
}
