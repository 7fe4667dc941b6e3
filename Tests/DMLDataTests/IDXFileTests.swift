import Foundation
import Testing
@testable import DMLData

/// IDX files with crafted headers: dimensions whose product overflows crashed the reader before
/// the product was computed with overflow checks; images of 0×0 pixels now fail at loading.
@Suite("IDX crafted files")
struct IDXFileTests {
    /// An IDX header of unsigned bytes with the given 32-bit dimensions and `payload` after it.
    static func idx(_ shape: [UInt32], payload: [UInt8] = []) -> Data {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: withUnsafeBytes(of: s.bigEndian, Array.init)) }
        return d + Data(payload)
    }

    static func part(_ data: Data, _ source: String) throws -> IDXDataset.Part {
        IDXDataset.Part(idx: try IDXFile(data: data, source: source), source: source)
    }

    @Test(arguments: [[UInt32.max, UInt32.max, UInt32.max], [1 << 31, 1 << 31, 4], Array(repeating: 0xFFFF, count: 5)])
    func overflowingDimensions(shape: [UInt32]) {
        let e = #expect(throws: DataError.self) { try IDXFile(data: Self.idx(shape, payload: [1, 2, 3]), source: "big.idx") }
        #expect(e?.file == "big.idx")
        #expect(e?.reason == "IDX shape \(shape.map(Int.init)) needs more than \(Int.max) bytes of data, the file has 3")
    }

    @Test func largeButExactProductIsCheckedAgainstTheData() {
        let e = #expect(throws: DataError.self) { try IDXFile(data: Self.idx([65536, 65536]), source: "l.idx") }
        #expect(e?.reason == "IDX shape [65536, 65536] needs 4294967296 bytes of data, the file has 0")
    }

    @Test func truncatedHeaderAndBadMagic() {
        let t = #expect(throws: DataError.self) { try IDXFile(data: Data([0, 0, 8, 3, 0, 0, 0, 1]), source: "t.idx") }
        #expect(t?.reason.hasPrefix("truncated IDX header (3 dimensions") == true)
        let z = #expect(throws: DataError.self) { try IDXFile(data: Data([0, 0, 8, 0]), source: "z.idx") }
        #expect(z?.reason.hasPrefix("truncated IDX header (0 dimensions") == true)
        let m = #expect(throws: DataError.self) { try IDXFile(data: Data([1, 0, 8, 1, 0, 0, 0, 0]), source: "m.idx") }
        #expect(m?.reason.hasPrefix("not an IDX file") == true)
    }

    @Test func zeroByZeroImagesAreRefused() throws {
        let images = try Self.part(Self.idx([2, 0, 0]), "train-images")
        let labels = try Self.part(Self.idx([2], payload: [0, 1]), "train-labels")
        let e = #expect(throws: DataError.self) {
            try IDXDataset.dataset(trainImages: images, trainLabels: labels, testImages: images, testLabels: labels)
        }
        #expect(e?.description == "train-images: images of 0×0 pixels, expected at least 1×1")
    }

    @Test func testImagesOfAnotherSizeAreRefused() throws {
        let train = try Self.part(Self.idx([1, 2, 2], payload: [1, 2, 3, 4]), "train-images")
        let test = try Self.part(Self.idx([1, 1, 4], payload: [1, 2, 3, 4]), "t10k-images")
        let labels = try Self.part(Self.idx([1], payload: [0]), "labels")
        let e = #expect(throws: DataError.self) {
            try IDXDataset.dataset(trainImages: train, trainLabels: labels, testImages: test, testLabels: labels)
        }
        #expect(e?.description == "t10k-images: images of 1×4 pixels, expected the training images' 2×2")
    }

    @Test(arguments: [1, 3])
    func tinyImagesLoad(size: Int) throws {
        // 1×1 and 3×3 images are legitimate data (an MLP trains on them; the CNN's own size check
        // refuses them with a message naming the model).
        let n = 6, pixels = size * size
        let images = try Self.part(Self.idx([UInt32(n), UInt32(size), UInt32(size)], payload: (0..<(n * pixels)).map { UInt8($0 % 256) }), "images")
        let labels = try Self.part(Self.idx([UInt32(n)], payload: [0, 1, 5, 6, 0, 5]), "labels")
        let data = try IDXDataset.dataset(trainImages: images, trainLabels: labels, testImages: images, testLabels: labels)
        #expect(data.train.sampleShape.dimensions == [1, size, size])
        #expect(data.train.count == 3 && data.test.count == 3)
    }

    @Test func gzipInMemoryAndBomb() throws {
        let plain = Self.idx([2, 1, 2], payload: [9, 8, 7, 6])
        let z = try Inflate.zlibCompress(plain)
        #expect(try IDXFile(fileData: plain, source: "p.idx") == IDXFile(data: plain, source: "p.idx"))
        #expect(try Inflate.decompress(z, source: "z") == plain)
        // A stream that inflates past the bound is refused before it is all in memory.
        let zeros = try Inflate.zlibCompress(Data(repeating: 0, count: 1 << 20))
        let e = #expect(throws: DataError.self) { try Inflate.decompress(zeros, source: "bomb.gz", maximumSize: 1 << 16) }
        #expect(e?.description == "bomb.gz: compressed data decompress to more than 65536 bytes")
    }
}
