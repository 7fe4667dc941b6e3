import CImageCodecs
import Foundation

/// Encodes 8-bit grey or RGB pixels as PNG with libpng's simplified API
/// (`png_image_write_to_memory`).
public enum PNGEncoder {
    /// The PNG bytes of a `height × width` image with `channels` = 1 (grey) or 3 (RGB)
    /// interleaved 8-bit samples per pixel, rows top to bottom.
    public static func encode(pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> Data {
        guard channels == 1 || channels == 3, width > 0, height > 0,
              pixels.count == width * height * channels else {
            throw ReportError(source: "PNG encoder",
                              reason: "expected \(width)×\(height)×\(channels) pixels with 1 or 3 channels, got \(pixels.count) bytes")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = channels == 3 ? png_uint_32(PNG_FORMAT_FLAG_COLOR) : 0
        var size: png_alloc_size_t = 0
        let stride = png_int_32(width * channels)
        return try pixels.withUnsafeBytes { raw -> Data in
            guard png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, stride, nil) != 0, size > 0 else {
                throw failure(&image)
            }
            var bytes = [UInt8](repeating: 0, count: Int(size))
            let ok = bytes.withUnsafeMutableBytes { out in
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, raw.baseAddress, stride, nil)
            }
            guard ok != 0 else { throw failure(&image) }
            return Data(bytes.prefix(Int(size)))
        }
    }

    private static func failure(_ image: inout png_image) -> ReportError {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        png_image_free(&image)
        return ReportError(source: "PNG encoder", reason: "libpng failed: \(message)")
    }
}
