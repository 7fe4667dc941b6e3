import CImageCodecs
import Foundation

/// zlib inflation of gzip files and zlib streams (IDX `.gz` files, MAT-file `miCOMPRESSED` elements).
public enum Inflate {
    /// Whether `data` starts with the gzip magic bytes `1F 8B`.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// The default bound on the decompressed size: 4 GiB, far above any dataset file this library
    /// reads, and below what would exhaust the memory of an ordinary machine.
    public static let defaultMaximumSize = 1 << 32

    /// The decompressed bytes of a gzip file or zlib stream (detected from the header). A damaged
    /// or truncated stream, or one that decompresses to more than `maximumSize` bytes (a
    /// "zip bomb"), is a `DataError` naming `source`.
    public static func decompress(_ data: Data, source: String, maximumSize: Int = defaultMaximumSize) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(file: source, "cannot start zlib")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        let chunk = 1 << 18
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.baseAddress, input.count > 0 else {
                throw DataError(file: source, "empty compressed data")
            }
            // zlib counts input in 32-bit units: feed inputs over 4 GiB in pieces.
            var consumed = 0
            stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
            repeat {
                if stream.avail_in == 0 && consumed < input.count {
                    let piece = min(input.count - consumed, Int(UInt32.max))
                    stream.avail_in = uInt(piece)
                    consumed += piece
                }
                status = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                guard produced <= maximumSize - output.count else {
                    throw DataError(file: source, "compressed data decompress to more than \(maximumSize) bytes")
                }
                output.append(contentsOf: buffer[0..<produced])
                if status == Z_BUF_ERROR && stream.avail_in == 0 && consumed == input.count { break }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let reason = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw DataError(file: source, "corrupt compressed data (zlib: \(reason))")
                }
            } while status != Z_STREAM_END
        }
        guard status == Z_STREAM_END else {
            throw DataError(file: source, "truncated compressed data (the stream ends early)")
        }
        return output
    }

    /// `data` compressed as a zlib stream (level 6); used to write test fixtures.
    public static func zlibCompress(_ data: Data) throws -> Data {
        var size = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = data.withUnsafeBytes { src in
            compress2(&out, &size, src.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(data.count), 6)
        }
        guard status == Z_OK else { throw DataError(file: "<zlib>", "compression failed (\(status))") }
        return Data(out[0..<Int(size)])
    }
}
