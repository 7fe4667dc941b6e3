import CImageCodecs
import Foundation

/// JPEG decoding and encoding through libjpeg-turbo's TurboJPEG API.
///
/// Gray JPEGs decode to one channel, everything else to RGB (or to the channel count asked for).
/// A file TurboJPEG cannot parse, or one that ends before its last scan ("Premature end of JPEG
/// file"), is a `DataError` naming the file; harmless warnings (extraneous bytes) are accepted.
/// A progressive file of more than 500 scans is refused (TurboJPEG's `TJFLAG_LIMITSCANS`): real
/// files have about ten, and each scan costs a pass over the whole image, so a crafted file of a
/// few kilobytes could otherwise take minutes. Headers claiming more than
/// `ImageDecoder.maximumPixels` pixels are refused before allocating.
public enum JPEGCodec {
    /// Whether `bytes` start with the JPEG start-of-image marker `FF D8 FF`.
    public static func isJPEG(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    /// Decodes a JPEG held in `bytes`; `channels` forces 1 (gray) or 3 (RGB), `nil` keeps the
    /// file's own (gray stays gray). `source` names the file in errors.
    public static func decode(_ bytes: UnsafeRawBufferPointer, channels: Int? = nil, source: String) throws -> Image {
        guard let handle = tjInitDecompress() else { throw DataError(file: source, "cannot start the JPEG decoder") }
        defer { tjDestroy(handle) }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
            throw DataError(file: source, "empty file, expected a JPEG image")
        }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        if tjDecompressHeader3(handle, base, UInt(bytes.count), &width, &height, &subsampling, &colorspace) != 0 {
            throw DataError(file: source, "corrupt JPEG header (\(errorText(handle)))")
        }
        try ImageDecoder.checkSize(width: Int(width), height: Int(height), format: "JPEG", source: source)
        let outChannels = channels ?? (colorspace == Int32(TJCS_GRAY.rawValue) ? 1 : 3)
        let format = outChannels == 1 ? TJPF_GRAY : TJPF_RGB
        let count = Int(width) * Int(height) * outChannels
        var failure: String?
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = tjDecompress2(handle, base, UInt(bytes.count), buffer.baseAddress, width, 0, height,
                                       Int32(format.rawValue), Int32(TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS))
            if status != 0 {
                let message = errorText(handle)
                let isWarning = tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue)
                if !isWarning || message.contains("Premature end") { failure = message }
            }
            if failure != nil { buffer.initialize(repeating: 0) }
            initialized = count
        }
        if let failure { throw DataError(file: source, "corrupt or truncated JPEG (\(failure))") }
        return Image(width: Int(width), height: Int(height), channels: outChannels, pixels: pixels)
    }

    /// Encodes `image` as a baseline JPEG of the given quality (1–100), 4:4:4 for RGB.
    public static func encode(_ image: Image, quality: Int = 90) throws -> Data {
        guard let handle = tjInitCompress() else { throw DataError(file: "<jpeg encoder>", "cannot start the JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let format = image.channels == 1 ? TJPF_GRAY : TJPF_RGB
        let subsampling = image.channels == 1 ? TJSAMP_GRAY : TJSAMP_444
        let status = image.pixels.withUnsafeBufferPointer { p in
            tjCompress2(handle, p.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(format.rawValue),
                        &output, &size, Int32(subsampling.rawValue), Int32(quality), Int32(TJFLAG_ACCURATEDCT))
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw DataError(file: "<jpeg encoder>", "cannot encode a \(image.width)×\(image.height) JPEG (\(errorText(handle)))")
        }
        return Data(bytes: output, count: Int(size))
    }

    private static func errorText(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: text)
    }
}
