import Foundation
import Testing
@testable import DMLData

@Suite("MAT v5 files")
struct MATFileTests {
    @Test(arguments: [true, false])
    func readsSciPyFiles(compressed: Bool) throws {
        let mat = try MATFile(data: compressed ? SciPyMATFixtures.compressed : SciPyMATFixtures.uncompressed, source: "scipy.mat")
        guard case .structArray(let dims, let fields, let elements) = try mat.variable("annotations", source: "scipy.mat") else {
            Issue.record("annotations is not a struct array"); return
        }
        #expect(dims == [1, 4])
        #expect(fields == ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "relative_im_path", "test"])
        #expect(elements.map { $0["class"] } == [1, 98, 99, 196].map { MATValue.numeric(dimensions: [1, 1], values: [$0]) })
        #expect(elements.map { $0["bbox_x1"] } == [10, 11, 12, 13].map { MATValue.numeric(dimensions: [1, 1], values: [$0]) })
        #expect(elements[3]["test"] == .numeric(dimensions: [1, 1], values: [1]))
        #expect(elements[1]["relative_im_path"] == .text(dimensions: [1, 18], "car_ims/000002.jpg"))
        guard case .cell(_, let names) = try mat.variable("class_names", source: "scipy.mat") else {
            Issue.record("class_names is not a cell"); return
        }
        #expect(names == [.text(dimensions: [1, 26], "AM General Hummer SUV 2000"), .text(dimensions: [1, 19], "Acura RL Sedan 2012"),
                          .text(dimensions: [1, 11], "Ünicode Car")])
    }

    @Test(arguments: [true, false])
    func readsOwnWriter(compressed: Bool) throws {
        let data = try MATv5Writer.file([
            ("m", .doubles([1, 2, 3, 4, 5, 6], dimensions: [2, 3])),
            ("s", .structs(fieldNames: ["a", "name"], elements: [[.bytes([7], dimensions: [1, 1]), .text("x")],
                                                                  [.bytes([8, 9], dimensions: [1, 2]), .text("yz")]])),
        ], compressed: compressed)
        let mat = try MATFile(data: data, source: "own.mat")
        #expect(mat.variables["m"] == .numeric(dimensions: [2, 3], values: [1, 2, 3, 4, 5, 6]))
        guard case .structArray(_, _, let e)? = mat.variables["s"] else { Issue.record("no struct"); return }
        #expect(e[1]["a"] == .numeric(dimensions: [1, 2], values: [8, 9]))
        #expect(e[1]["name"] == .text(dimensions: [1, 2], "yz"))
    }

    @Test func badFilesAreClearErrors() throws {
        let good = SciPyMATFixtures.compressed
        #expect(throws: DataError.self) { try MATFile(data: good.prefix(100), source: "short.mat") }
        #expect(throws: DataError.self) { try MATFile(data: good.prefix(good.count - 40), source: "cut.mat") }
        var badEndian = good
        badEndian[126] = 0x41
        #expect(throws: DataError.self) { try MATFile(data: badEndian, source: "endian.mat") }
        var corrupt = good
        for k in 140..<180 { corrupt[k] ^= 0x5A }
        let e = #expect(throws: DataError.self) { try MATFile(data: corrupt, source: "corrupt.mat") }
        #expect(e?.file == "corrupt.mat")
        let mat = try MATFile(data: good, source: "x.mat")
        #expect(throws: DataError.self) { try mat.variable("nothing", source: "x.mat") }
        let hdf5 = Data("MATLAB 7.3 MAT-file".utf8) + Data(repeating: 0, count: 200)
        let h = #expect(throws: DataError.self) { try MATFile(data: hdf5, source: "v73.mat") }
        #expect(h?.reason.contains("7.3") == true)
    }
}
