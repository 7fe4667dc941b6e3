/// CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), as zlib's `crc32` and the zip format
/// compute it: `crc = table[(crc ⊕ b) & 0xFF] ⊕ (crc >> 8)` over the bytes from `0xFFFFFFFF`,
/// inverted at the end. Used by dml checkpoints, tensor archives and PyTorch's zip container.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `bytes`.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ checksum(UnsafeRawBufferPointer($0)) }) { return fast }
        var c: UInt32 = 0xFFFF_FFFF
        let t = table
        for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    /// The CRC-32 of the bytes of a raw buffer (the table read through a pointer: no bounds
    /// checks in the loop).
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
