import Foundation
import Testing
@testable import DMLData

/// Image headers claiming more pixels than `ImageDecoder.maximumPixels`: a 60-byte PNG or a
/// 300-byte JPEG could ask for terabytes (PNG allows 2³¹−1 × 2³¹−1, libpng itself up to
/// 10⁶ × 10⁶; JPEG 65500 × 65500), allocated before the pixel data were seen.
@Suite("Image size limits")
struct ImageSizeLimitTests {
    @Test(arguments: [(100_000, 100_000), (1_000_000, 200), (20_000, 10_000)])
    func hugePNGHeaderIsRefusedBeforeAllocating(width: Int, height: Int) throws {
        // One row of data only: the header alone decides.
        let png = try RawPNGWriter.encode(width: width, height: height, bitDepth: 1, colorType: 0, rows: [[0]])
        let e = #expect(throws: DataError.self) { try ImageDecoder.decode(png, source: "huge.png") }
        #expect(e?.description == "huge.png: PNG of \(width)×\(height) pixels, more than the 134217728 this reader accepts")
    }

    @Test func hugeJPEGHeaderIsRefusedBeforeAllocating() throws {
        var jpeg = try JPEGCodec.encode(Image(width: 8, height: 8, channels: 1) { x, y, _ in UInt8(x * 16 + y) })
        // The SOF0 segment: FF C0, length (2), precision (1), height (2), width (2).
        let bytes = [UInt8](jpeg)
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        for (k, v) in [0xEA, 0x60, 0xEA, 0x60].enumerated() { jpeg[sof + 5 + k] = UInt8(v) }
        let e = #expect(throws: DataError.self) { try ImageDecoder.decode(jpeg, source: "huge.jpg") }
        #expect(e?.description == "huge.jpg: JPEG of 60000×60000 pixels, more than the 134217728 this reader accepts")
    }

    @Test func sizesAtTheLimitAreStillChecked() throws {
        #expect(throws: Never.self) { try ImageDecoder.checkSize(width: 1 << 14, height: 1 << 13, format: "PNG", source: "ok") }
        #expect(throws: DataError.self) { try ImageDecoder.checkSize(width: (1 << 14) + 1, height: 1 << 13, format: "PNG", source: "no") }
        #expect(throws: DataError.self) { try ImageDecoder.checkSize(width: 0, height: 5, format: "PNG", source: "empty") }
    }
}
