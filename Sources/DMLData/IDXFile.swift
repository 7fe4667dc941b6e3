import Foundation

/// An array in the IDX format of the MNIST family (gzip-compressed or not).
///
/// The file is two zero bytes, a type byte (0x08 = unsigned byte, the only type the MNIST family
/// uses; also 0x09 signed byte), the number of dimensions, each dimension as a big-endian 32-bit
/// integer, then the elements in C order.
public struct IDXFile: Equatable, Sendable {
    /// The dimensions, e.g. `[60000, 28, 28]` for images, `[60000]` for labels.
    public let shape: [Int]
    /// The elements in C order.
    public let values: [UInt8]

    /// Reads the IDX file at `path` (decompressing it if it is gzip).
    public static func read(_ path: String) throws -> IDXFile {
        try IDXFile(fileData: try FileBytes.read(path), source: path)
    }

    /// Parses the bytes of an IDX file as stored: gzip-compressed (detected from the magic bytes
    /// `1F 8B`) or not. `source` names it in errors.
    public init(fileData data: Data, source: String) throws {
        try self.init(data: Inflate.isGzip(data) ? Inflate.decompress(data, source: source) : data, source: source)
    }

    /// Parses the (uncompressed) bytes of an IDX file; `source` names it in errors. The element
    /// count, the product of the dimensions, is computed with overflow checks and must equal the
    /// number of bytes after the header.
    public init(data: Data, source: String) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: source, "not an IDX file (expected the magic number 00 00 TYPE DIMS)")
        }
        guard bytes[2] == 0x08 || bytes[2] == 0x09 else {
            throw DataError(file: source, "IDX element type 0x\(String(bytes[2], radix: 16)) is not supported (expected 0x08, unsigned bytes)")
        }
        let dims = Int(bytes[3])
        guard dims >= 1, bytes.count >= 4 + 4 * dims else {
            throw DataError(file: source, "truncated IDX header (\(dims) dimensions, expected 1 or more and 4 bytes for each)")
        }
        var shape = [Int]()
        var count = 1, overflow = false
        for d in 0..<dims {
            let o = 4 + 4 * d
            let size = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            shape.append(size)
            if !overflow { (count, overflow) = count.multipliedReportingOverflow(by: size) }
        }
        let start = 4 + 4 * dims
        guard !overflow, bytes.count - start == count else {
            let needs = overflow ? "more than \(Int.max) bytes" : "\(count) bytes"
            throw DataError(file: source, "IDX shape \(shape) needs \(needs) of data, the file has \(bytes.count - start)")
        }
        self.shape = shape
        self.values = Array(bytes[start...])
    }
}
