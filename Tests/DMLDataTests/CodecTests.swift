import Foundation
import Testing
@testable import DMLData

@Suite("JPEG and PNG decoding")
struct CodecTests {
    static let gradient = Image(width: 7, height: 5, channels: 3) { x, y, c in UInt8((x * 30 + y * 17 + c * 50) % 256) }

    @Test func pngRoundTripIsExact() throws {
        for image in [Self.gradient, Self.gradient.converted(toChannels: 1)] {
            let data = try PNGCodec.encode(image)
            #expect(try ImageDecoder.decode(data, source: "t.png") == image)
        }
    }

    @Test func jpegRoundTripIsClose() throws {
        let smooth = Image(width: 32, height: 24, channels: 3) { x, y, c in UInt8(60 + x * 3 + y * 2 + c * 20) }
        let decoded = try ImageDecoder.decode(try JPEGCodec.encode(smooth, quality: 95), source: "t.jpg")
        #expect(decoded.width == 32 && decoded.height == 24 && decoded.channels == 3)
        let worst = zip(decoded.pixels, smooth.pixels).map { abs(Int($0) - Int($1)) }.max()!
        #expect(worst <= 6)
        let gray = smooth.converted(toChannels: 1)
        let grayDecoded = try ImageDecoder.decode(try JPEGCodec.encode(gray, quality: 95), source: "g.jpg")
        #expect(grayDecoded.channels == 1)
        #expect(zip(grayDecoded.pixels, gray.pixels).allSatisfy { abs(Int($0) - Int($1)) <= 4 })
        // Forcing three channels repeats the gray value.
        let asRGB = try ImageDecoder.decode(try JPEGCodec.encode(gray, quality: 95), channels: 3, source: "g.jpg")
        #expect(asRGB == grayDecoded.converted(toChannels: 3))
    }

    @Test func oneBitGrayPNG() throws {
        // 10 pixels per row, 1 bit each, most significant bit first: row 0 = 1010101010, row 1 = 0000011111.
        let rows: [[UInt8]] = [[0b1010_1010, 0b1000_0000], [0b0000_0111, 0b1100_0000]]
        let png = try RawPNGWriter.encode(width: 10, height: 2, bitDepth: 1, colorType: 0, rows: rows)
        let image = try ImageDecoder.decode(png, source: "bits.png")
        #expect(image.channels == 1)
        #expect(image.pixels == [255, 0, 255, 0, 255, 0, 255, 0, 255, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255])
    }

    @Test func palettePNGBecomesRGB() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255]
        let png = try RawPNGWriter.encode(width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 0, 1]], palette: palette)
        let image = try ImageDecoder.decode(png, source: "palette.png")
        #expect(image.channels == 3)
        #expect(image.pixels == [0, 0, 255, 255, 0, 0, 0, 255, 0])
    }

    @Test func sixteenBitPNGIsScaledTo8Bits() throws {
        // Gray 16-bit samples 0x0000, 0xFFFF, 0x8080 (= 128·257) → 0, 255, 128.
        let gray = try RawPNGWriter.encode(width: 3, height: 1, bitDepth: 16, colorType: 0, rows: [[0, 0, 0xFF, 0xFF, 0x80, 0x80]])
        #expect(try ImageDecoder.decode(gray, source: "g16.png").pixels == [0, 255, 128])
        let rgb = try RawPNGWriter.encode(width: 1, height: 1, bitDepth: 16, colorType: 2, rows: [[0xFF, 0xFF, 0, 0, 0x40, 0x40]])
        #expect(try ImageDecoder.decode(rgb, source: "rgb16.png").pixels == [255, 0, 64])
    }

    @Test func alphaIsCompositedOntoWhite() throws {
        // RGBA: opaque red, fully transparent black, half-transparent black.
        let png = try RawPNGWriter.encode(width: 3, height: 1, bitDepth: 8, colorType: 6,
                                          rows: [[255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128]])
        let image = try ImageDecoder.decode(png, source: "alpha.png")
        #expect(image.channels == 3)
        #expect(Array(image.pixels[0..<6]) == [255, 0, 0, 255, 255, 255])
        #expect(image.pixels[6] > 100 && image.pixels[6] < 200)  // between black and white
        // Gray + alpha stays one channel.
        let ga = try RawPNGWriter.encode(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[10, 255, 10, 0]])
        #expect(try ImageDecoder.decode(ga, source: "ga.png").pixels == [10, 255])
    }

    @Test func colorToGrayUsesLuma() {
        let image = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 0, 0, 255])
        #expect(image.converted(toChannels: 1).pixels == [76, 29])  // 0.299·255, 0.114·255
    }

    @Test func corruptAndTruncatedFilesNameTheFile() throws {
        let png = try PNGCodec.encode(Self.gradient)
        let jpeg = try JPEGCodec.encode(Self.gradient)
        let cases: [(Data, String)] = [
            (png.prefix(png.count / 2), "half.png"),
            (png.prefix(20), "header-only.png"),
            (jpeg.prefix(jpeg.count / 2), "half.jpg"),
            (Data([0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02]), "garbage.jpg"),
            (Data("hello, not an image".utf8), "text.png"),
            (Data(), "empty.jpg"),
        ]
        for (data, name) in cases {
            let error = #expect(throws: DataError.self) { try ImageDecoder.decode(data, source: name) }
            #expect(error?.file == name)
        }
        var garbled = png
        for k in 41..<(png.count - 12) { garbled[k] = 0xFF }  // IDAT data replaced by garbage
        #expect(throws: DataError.self) { try ImageDecoder.decode(garbled, source: "garbled.png") }
        let missing = #expect(throws: DataError.self) { try ImageDecoder.read("/nonexistent/x.png") }
        #expect(missing?.description.contains("/nonexistent/x.png") == true)
    }
}
