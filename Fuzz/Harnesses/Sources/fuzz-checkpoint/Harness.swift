import Foundation
import FuzzSupport
import SwiftMetricLearning

/// Training checkpoints (`DMLCKPT1`): read as given, and with the trailing CRC-32 recomputed over
/// the whole file and over the tensor archive that follows the metadata, so that mutations of the
/// metadata JSON and of the tensors get past the checksum whichever part it covers.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    var candidates = [bytes, FuzzInput.withTrailingCRC(bytes)]
    if bytes.count >= 16 {
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[bytes.startIndex + 8 + k]) << (8 * UInt64(k)) }
        if length <= UInt64(bytes.count - 16) { candidates.append(FuzzInput.withTrailingCRC(bytes, from: 16 + Int(length))) }
    }
    for candidate in candidates {
        guard let checkpoint = try? Checkpoint(decoding: candidate, source: "fuzz.ckpt") else { continue }
        _ = try? checkpoint.metadata.configuration.validate()
    }
    return 0
}
