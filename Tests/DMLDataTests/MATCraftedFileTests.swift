import Foundation
import Testing
@testable import DMLData

/// Crafted MAT v5 files, each of which crashed the reader (a trap on an unchecked conversion, an
/// overflow or an unbounded allocation) before it validated every number it reads. Each must now
/// be a `DataError` naming the file and the field, or, where the file is legitimate, read.
@Suite("MAT v5 crafted files")
struct MATCraftedFileTests {
    typealias W = MATv5Writer

    /// A file of one top-level `miMATRIX` with the given parts (each a whole element).
    static func file(arrayClass: UInt32 = 6, dimensions: Data, name: Data = W.element(1, Data("x".utf8)),
                     content: Data = Data(), bigEndian: Bool = false) throws -> Data {
        var header = try W.file([], compressed: false)
        precondition(header.count == 128)
        if bigEndian { header[126] = 0x4D; header[127] = 0x49 }
        let body = W.element(6, W.int32s([Int(arrayClass), 0])) + dimensions + name + content
        return header + W.element(14, body)
    }

    static func int32Dimensions(_ d: [Int]) -> Data { W.element(5, W.int32s(d)) }

    static func doubles(_ values: [Double]) -> Data {
        var raw = Data()
        for v in values { raw.append(contentsOf: withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)) }
        return raw
    }

    static func error(_ data: Data, _ source: String) -> DataError? {
        #expect(throws: DataError.self) { try MATFile(data: data, source: source) }
    }

    static func expectError(_ data: Data, _ source: String, saying parts: String...) {
        let e = error(data, source)
        #expect(e?.file == source)
        for part in parts { #expect(e?.reason.contains(part) == true, "\(e?.reason ?? "no error") lacks \(part)") }
    }

    @Test func negativeDimension() throws {
        Self.expectError(try Self.file(dimensions: Self.int32Dimensions([-1, 3]), content: W.element(9, Data())),
                         "neg.mat", saying: "variable 'x'", "dimension -1 is not a whole number in 0…2147483647")
    }

    @Test(arguments: [Double.nan, 1e300, -Double.infinity, 2.5])
    func nonIntegerDimension(value: Double) throws {
        let data = try Self.file(dimensions: W.element(9, Self.doubles([1, value])), content: W.element(9, Data()))
        Self.expectError(data, "dims.mat", saying: "variable 'x': dimension ", "is not a whole number")
    }

    @Test func overflowingDimensions() throws {
        let big = Int(Int32.max)
        Self.expectError(try Self.file(dimensions: Self.int32Dimensions([big, big, big]), content: W.element(9, Data())),
                         "overflow.mat", saying: "variable 'x'", "product beyond")
    }

    @Test func nameByte0xFF() throws {
        let data = try Self.file(dimensions: Self.int32Dimensions([1, 1]), name: W.element(1, Data([0x61, 0xFF])),
                                 content: W.element(9, Self.doubles([4])))
        Self.expectError(data, "name.mat", saying: "name: not valid UTF-8")
    }

    @Test func uint32Names() throws {
        // 70000 = U+11170 is a Unicode scalar: a strange name but a readable file.
        let ok = try Self.file(dimensions: Self.int32Dimensions([1, 1]), name: W.element(6, W.int32s([70000])),
                               content: W.element(9, Self.doubles([4])))
        #expect(try MATFile(data: ok, source: "u32.mat").variables["\u{11170}"] == .numeric(dimensions: [1, 1], values: [4]))
        let bad = try Self.file(dimensions: Self.int32Dimensions([1, 1]), name: W.element(6, W.int32s([0x110000])),
                                content: W.element(9, Self.doubles([4])))
        Self.expectError(bad, "u32.mat", saying: "name: character code 1114112 is not a Unicode code point")
    }

    @Test func nanFieldNameLength() throws {
        let content = W.element(9, Self.doubles([.nan])) + W.element(1, Data("a\0\0\0".utf8))
        Self.expectError(try Self.file(arrayClass: 2, dimensions: Self.int32Dimensions([1, 1]), content: content),
                         "field.mat", saying: "variable 'x': field name length nan", "expected one whole number")
    }

    @Test func negativeCharacterCodes() throws {
        let asInt32 = W.element(5, W.int32s([104, -5]))
        Self.expectError(try Self.file(arrayClass: 4, dimensions: Self.int32Dimensions([1, 2]), content: asInt32),
                         "char.mat", saying: "variable 'x': characters: character code -5")
        let asDouble = W.element(9, Self.doubles([104, -1]))
        Self.expectError(try Self.file(arrayClass: 4, dimensions: Self.int32Dimensions([2, 1]), content: asDouble),
                         "char.mat", saying: "character code -1")
        // As int16, −5 is the bit pattern of the UTF-16 unit 0xFFFB: MATLAB's char is uint16.
        var units = Data()
        for u: UInt16 in [104, 0xFFFB] { units.append(contentsOf: [UInt8(u & 0xFF), UInt8(u >> 8)]) }
        let asInt16 = try Self.file(arrayClass: 4, dimensions: Self.int32Dimensions([1, 2]), content: W.element(3, units))
        #expect(try MATFile(data: asInt16, source: "char.mat").variables["x"] == .text(dimensions: [1, 2], "h\u{FFFB}"))
    }

    @Test func unpairedSurrogate() throws {
        let content = W.element(4, Data([0x00, 0xD8, 0x61, 0x00]))  // U+D800 then "a"
        Self.expectError(try Self.file(arrayClass: 4, dimensions: Self.int32Dimensions([1, 2]), content: content),
                         "surrogate.mat", saying: "not valid UTF-16")
    }

    @Test func hugeStructWithoutTheBytes() throws {
        // 2³⁰ × 2³⁰ elements of one field: formerly a reserveCapacity of 10¹⁸ elements.
        let content = Data([0x05, 0x00, 0x04, 0x00]) + W.int32s([2]) + W.element(1, Data("a\0".utf8))
        Self.expectError(try Self.file(arrayClass: 2, dimensions: Self.int32Dimensions([1 << 30, 1 << 30]), content: content),
                         "struct.mat", saying: "variable 'x': a struct array of dimensions [1073741824, 1073741824]")
    }

    @Test func hugeCellWithoutTheBytes() throws {
        Self.expectError(try Self.file(arrayClass: 1, dimensions: Self.int32Dimensions([1 << 30, 4])),
                         "cell.mat", saying: "variable 'x': a cell array of dimensions [1073741824, 4]")
    }

    @Test func numericArrayWithoutData() throws {
        Self.expectError(try Self.file(dimensions: Self.int32Dimensions([3, 2])), "nodata.mat",
                         saying: "variable 'x': a numeric array of dimensions [3, 2] has no data")
        #expect(try MATFile(data: try Self.file(dimensions: Self.int32Dimensions([0, 2])), source: "empty.mat").variables["x"]
                == .numeric(dimensions: [0, 2], values: []))
    }

    @Test func elementRunningPastItsContainer() throws {
        // The values element claims 64 bytes; its matrix holds 8.
        var content = W.element(9, Self.doubles([1]))
        content[4] = 64
        Self.expectError(try Self.file(dimensions: Self.int32Dimensions([1, 1]), content: content), "past.mat",
                         saying: "variable 'x': values: element of 64 bytes runs past the end of its container")
    }

    @Test func deepNesting() throws {
        var value = W.Value.doubles([1], dimensions: [1, 1])
        for _ in 0..<(MATReader.maximumDepth + 2) { value = .cell([value]) }
        Self.expectError(try W.file([("deep", value)], compressed: false), "deep.mat", saying: "nested more than 64 deep")
        var shallow = W.Value.doubles([1], dimensions: [1, 1])
        for _ in 0..<8 { shallow = .cell([shallow]) }
        #expect(try MATFile(data: try W.file([("ok", shallow)], compressed: false), source: "ok.mat").variables["ok"] != nil)
    }

    @Test func compressedInsideCompressed() throws {
        let inner = try W.file([("x", .doubles([1, 2], dimensions: [1, 2]))], compressed: true).dropFirst(128)
        let outer = try Inflate.zlibCompress(Data(inner))
        let data = try W.file([], compressed: false) + W.tag(15, outer.count) + outer
        Self.expectError(data, "nested.mat", saying: "a compressed element inside a compressed element")
    }

    @Test func bigEndianFileReads() throws {
        // The same reader path in the other byte order (big-endian tags and values).
        var body = Data()
        func be(_ v: UInt32) -> Data { Data([UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]) }
        body += be(6) + be(8) + be(6) + be(0)              // flags: mxDOUBLE
        body += be(5) + be(8) + be(1) + be(2)              // dimensions 1×2 (int32)
        body += be(1) + be(1) + Data([0x62]) + Data(repeating: 0, count: 7)  // name "b"
        body += be(9) + be(16)
        for v in [1.5, -2.0] { body += Data(withUnsafeBytes(of: v.bitPattern.bigEndian, Array.init)) }
        var header = try W.file([], compressed: false)
        header[126] = 0x4D; header[127] = 0x49
        header[124] = 0x01; header[125] = 0x00
        let data = header + be(14) + be(UInt32(body.count)) + body
        #expect(try MATFile(data: data, source: "be.mat").variables["b"] == .numeric(dimensions: [1, 2], values: [1.5, -2]))
    }

    @Test func carsAnnotationsNameTheField() throws {
        let file = try W.file([("annotations", .structs(fieldNames: ["relative_im_path", "class"], elements: [
            [.text("car_ims/1.jpg"), .doubles([3], dimensions: [1, 1])],
            [.text("car_ims/2.jpg"), .doubles([1.5], dimensions: [1, 1])],
        ]))], compressed: true)
        let mat = try MATFile(data: file, source: "cars_annos.mat")
        let e = #expect(throws: DataError.self) { try Cars196.annotations(in: mat, source: "cars_annos.mat") }
        #expect(e?.description == "cars_annos.mat: annotations(2).class is not one integer")
        let good = try MATFile(data: try W.file([("annotations", .structs(fieldNames: ["relative_im_path", "class"], elements: [
            [.text("car_ims/1.jpg"), .doubles([196], dimensions: [1, 1])],
        ]))], compressed: false), source: "ok.mat")
        #expect(try Cars196.annotations(in: good, source: "ok.mat").0 == [Cars196.Annotation(relativePath: "car_ims/1.jpg", classID: 196)])
    }
}
