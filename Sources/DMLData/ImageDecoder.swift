import Foundation

/// Reads image files, choosing the codec from the file's first bytes (not its extension).
public enum ImageDecoder {
    /// The largest image decoded, in pixels (2²⁷ ≈ 134 million, e.g. 16384 × 8192): a header
    /// claiming more is an error before any pixel memory is allocated, so a crafted 100-byte file
    /// cannot ask for terabytes.
    public static let maximumPixels = 1 << 27

    /// Checks a header's size against `maximumPixels`.
    static func checkSize(width: Int, height: Int, format: String, source: String) throws {
        guard width > 0, height > 0 else { throw DataError(file: source, "\(format) with empty size \(width)×\(height)") }
        guard width <= maximumPixels / height else {
            throw DataError(file: source, "\(format) of \(width)×\(height) pixels, more than the \(maximumPixels) this reader accepts")
        }
    }

    /// Decodes JPEG or PNG `bytes`; `channels` forces 1 (gray) or 3 (RGB), `nil` keeps the file's
    /// own. Any other format, or a damaged file, is a `DataError` naming `source`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, channels: Int? = nil, source: String) throws -> Image {
        if JPEGCodec.isJPEG(bytes) { return try JPEGCodec.decode(bytes, channels: channels, source: source) }
        if PNGCodec.isPNG(bytes) { return try PNGCodec.decode(bytes, channels: channels, source: source) }
        if bytes.isEmpty { throw DataError(file: source, "empty file, expected a JPEG or PNG image") }
        throw DataError(file: source, "not a JPEG or PNG image (unknown signature)")
    }

    /// Decodes `data` (see `decode(_:channels:source:)`).
    public static func decode(_ data: Data, channels: Int? = nil, source: String) throws -> Image {
        try data.withUnsafeBytes { try decode($0, channels: channels, source: source) }
    }

    /// Reads and decodes the image file at `path`.
    public static func read(_ path: String, channels: Int? = nil) throws -> Image {
        try decode(try FileBytes.read(path), channels: channels, source: path)
    }
}

/// Whole-file reads with errors that name the file.
enum FileBytes {
    /// The bytes of the file at `path`; a missing or unreadable file is a `DataError`.
    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw DataError(file: path, "no such file")
            }
            throw DataError(file: path, isDirectory.boolValue ? "is a directory, expected a file" : "cannot read the file")
        }
        return data
    }

    /// The text of the file at `path` (UTF-8, or Latin-1 if it is not valid UTF-8).
    static func text(_ path: String) throws -> String {
        let data = try read(path)
        return String(data: data, encoding: .utf8) ?? String(decoding: data, as: Unicode.ASCII.self)
    }
}
