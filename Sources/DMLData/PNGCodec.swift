import CImageCodecs
import Foundation

/// PNG decoding and encoding through libpng's simplified `png_image` API.
///
/// Every PNG colour type decodes: palette and 1/2/4-bit images are expanded, 16-bit samples are
/// read as sRGB-encoded and scaled to 8 bits (`v·255/65535`, rounded), and an alpha channel is
/// removed by compositing onto white. Gray (and gray+alpha) files decode to one channel, the rest
/// to RGB, unless a channel count is asked for. A corrupt or truncated file is a `DataError`
/// naming it.
public enum PNGCodec {
    /// Whether `bytes` start with the PNG signature `89 50 4E 47 0D 0A 1A 0A`.
    public static func isPNG(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return bytes.count >= 8 && (0..<8).allSatisfy { bytes[$0] == signature[$0] }
    }

    /// Decodes a PNG held in `bytes`; `channels` forces 1 (gray) or 3 (RGB), `nil` keeps the
    /// file's own colour type. `source` names the file in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, channels: Int? = nil, source: String) throws -> Image {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw DataError(file: source, "empty file, expected a PNG image")
        }
        let imagePointer = newControl()
        defer { png_image_free(imagePointer); imagePointer.deallocate() }
        guard png_image_begin_read_from_memory(imagePointer, base, bytes.count) != 0 else {
            throw DataError(file: source, "corrupt PNG header (\(message(of: imagePointer)))")
        }
        imagePointer.pointee.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let isColor = imagePointer.pointee.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
        let outChannels = channels ?? (isColor ? 3 : 1)
        imagePointer.pointee.format = outChannels == 1 ? grayFormat : rgbFormat
        let width = Int(imagePointer.pointee.width), height = Int(imagePointer.pointee.height)
        try ImageDecoder.checkSize(width: width, height: height, format: "PNG", source: source)
        var white = png_color(red: 255, green: 255, blue: 255)
        let count = width * height * outChannels
        var ok = true
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.initialize(repeating: 255)
            initialized = count
            ok = png_image_finish_read(imagePointer, &white, buffer.baseAddress, 0, nil) != 0
        }
        guard ok else { throw DataError(file: source, "corrupt or truncated PNG (\(message(of: imagePointer)))") }
        return Image(width: width, height: height, channels: outChannels, pixels: pixels)
    }

    /// Encodes `image` as an 8-bit gray or RGB PNG.
    public static func encode(_ image: Image) throws -> Data {
        let control = newControl()
        defer { png_image_free(control); control.deallocate() }
        control.pointee.width = png_uint_32(image.width)
        control.pointee.height = png_uint_32(image.height)
        control.pointee.format = image.channels == 1 ? grayFormat : rgbFormat
        var size = 0
        let sized = image.pixels.withUnsafeBufferPointer { p in
            png_image_write_to_memory(control, nil, &size, 0, p.baseAddress, 0, nil)
        }
        guard sized != 0 else { throw DataError(file: "<png encoder>", "cannot size the PNG (\(message(of: control)))") }
        var out = Data(count: size)
        let written = out.withUnsafeMutableBytes { dst in
            image.pixels.withUnsafeBufferPointer { p in
                png_image_write_to_memory(control, dst.baseAddress, &size, 0, p.baseAddress, 0, nil)
            }
        }
        guard written != 0 else { throw DataError(file: "<png encoder>", "cannot encode the PNG (\(message(of: control)))") }
        return out.prefix(size)
    }

    /// `PNG_FORMAT_GRAY`: one 8-bit sample per pixel.
    private static let grayFormat: png_uint_32 = 0
    /// `PNG_FORMAT_RGB` (`PNG_FORMAT_FLAG_COLOR`): three 8-bit samples per pixel.
    private static let rgbFormat = png_uint_32(PNG_FORMAT_FLAG_COLOR)

    /// A zeroed `png_image` (the simplified API's control structure) with its version set.
    private static func newControl() -> UnsafeMutablePointer<png_image> {
        let pointer = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
        UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<png_image>.size)
        pointer.pointee.version = png_uint_32(PNG_IMAGE_VERSION)
        return pointer
    }

    private static func message(of image: UnsafeMutablePointer<png_image>) -> String {
        withUnsafeBytes(of: &image.pointee.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
