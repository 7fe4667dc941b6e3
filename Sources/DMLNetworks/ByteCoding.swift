import Foundation

/// Appends little-endian fields to a byte buffer.
struct ByteWriter {
    var data = Data()

    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes(utf8)
    }
    /// Raw IEEE-754 values (the platforms this builds on are little-endian).
    mutating func scalars<T>(_ p: UnsafeBufferPointer<T>) {
        data.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                        count: p.count * MemoryLayout<T>.stride))
    }
}

/// Reads little-endian fields, throwing `TensorArchiveError.truncated` past `end`.
struct ByteReader {
    let bytes: [UInt8]
    let end: Int
    let source: String
    var offset = 0

    init(bytes: [UInt8], end: Int, source: String) {
        self.bytes = bytes
        self.end = end
        self.source = source
    }

    var remaining: Int { end - offset }

    mutating func bytes(_ n: Int, _ what: String) throws -> [UInt8] {
        guard n >= 0, n <= remaining else { throw TensorArchiveError.truncated(source: source, reading: what) }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    mutating func u32(_ what: String) throws -> UInt32 {
        let b = try bytes(4, what)
        return b.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    mutating func u64(_ what: String) throws -> UInt64 {
        let b = try bytes(8, what)
        return b.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    mutating func string() throws -> String {
        let n = try u32("name length")
        guard n <= 1 << 20 else { throw TensorArchiveError.corrupt(source: source, reason: "name length \(n)") }
        let b = try bytes(Int(n), "name")
        guard let s = String(validating: b, as: UTF8.self) else {
            throw TensorArchiveError.corrupt(source: source, reason: "a name is not valid UTF-8")
        }
        return s
    }

    /// `n` raw IEEE-754 values of type `T` (the platforms this builds on are little-endian).
    mutating func values<T>(_ n: Int, _ what: String, _: T.Type) throws -> [T] {
        let size = n * MemoryLayout<T>.stride
        guard size <= remaining else { throw TensorArchiveError.truncated(source: source, reading: what) }
        let start = offset
        offset += size
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + size)]))
            }
            count = n
        }
    }
}
