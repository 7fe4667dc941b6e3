import Foundation

/// Helpers shared by the harnesses.
public enum FuzzInput {
    /// The fuzzer's bytes as `Data`.
    public static func data(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> Data {
        Data(bytes: pointer, count: size)
    }

    /// `bytes` with their last four bytes replaced by the little-endian CRC-32 of what precedes
    /// them from `start` on, so that mutations get past a checksum and reach the parser behind it.
    public static func withTrailingCRC(_ bytes: Data, from start: Int = 0) -> Data {
        guard bytes.count >= 4 + start else { return bytes }
        var out = Data(bytes.prefix(bytes.count - 4))
        let crc = FuzzCRC32.checksum(out.dropFirst(start))
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k)))) }
        return out
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's `crc32`.
public enum FuzzCRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The checksum of `bytes`.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
