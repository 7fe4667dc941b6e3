import CImageCodecs
import Foundation
import Testing
@testable import DMLData

@Suite struct PNGEncoderTests {
    /// Decodes PNG bytes with libpng's reader into 8-bit samples with `channels` channels.
    private func decode(_ data: Data, channels: Int) -> (width: Int, height: Int, pixels: [UInt8])? {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        let ok = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else { return nil }
        image.format = channels == 3 ? png_uint_32(PNG_FORMAT_FLAG_COLOR) : 0
        var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height) * channels)
        let done = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard done != 0 else { return nil }
        return (Int(image.width), Int(image.height), pixels)
    }

    @Test func roundTripsGreyAndRGB() throws {
        for channels in [1, 3] {
            let (w, h) = (5, 3)
            let pixels = (0..<(w * h * channels)).map { UInt8(($0 * 37 + 11) % 256) }
            let png = try PNGCodec.encode(Image(width: w, height: h, channels: channels, pixels: pixels))
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let decoded = try #require(decode(png, channels: channels))
            #expect(decoded.width == w && decoded.height == h)
            #expect(decoded.pixels == pixels)
        }
    }

    @Test func anEmptyImageIsAnError() {
        #expect(throws: DataError.self) { try PNGCodec.encode(Image(width: 0, height: 3, channels: 1, pixels: [])) }
    }
}
