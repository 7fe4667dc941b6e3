import Foundation
import DMLNumerics

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
        let crc = CRC32.checksum(out.dropFirst(start))
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k)))) }
        return out
    }
}
