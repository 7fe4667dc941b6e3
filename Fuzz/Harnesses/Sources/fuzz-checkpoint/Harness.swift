import Foundation
import FuzzSupport
import SwiftMetricLearning

/// Training checkpoints (`DMLCKPT1`, and `DMLCKPT2` whose metadata has a CRC-32 of its own):
/// read as given, and with the checksums recomputed where each format keeps them, so that
/// mutations of the metadata JSON and of the tensors get past the checksums:
/// the trailing CRC over the whole file; the archive's trailing CRC after the metadata (version 1);
/// the metadata CRC after the JSON and the archive's after it (version 2).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    var candidates = [bytes, FuzzInput.withTrailingCRC(bytes)]
    if bytes.count >= 16 {
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[bytes.startIndex + 8 + k]) << (8 * UInt64(k)) }
        if length <= UInt64(bytes.count - 16) {
            let jsonEnd = 16 + Int(length)
            candidates.append(FuzzInput.withTrailingCRC(bytes, from: jsonEnd))
            if jsonEnd + 4 <= bytes.count {
                var v2 = Data(bytes)
                let crc = CRC32.checksum(v2.prefix(jsonEnd))
                for k in 0..<4 { v2[jsonEnd + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                candidates.append(FuzzInput.withTrailingCRC(v2, from: jsonEnd + 4))
            }
        }
    }
    for candidate in candidates {
        guard let checkpoint = try? Checkpoint(decoding: candidate, source: "fuzz.ckpt") else { continue }
        _ = try? checkpoint.metadata.configuration.validate()
    }
    return 0
}
