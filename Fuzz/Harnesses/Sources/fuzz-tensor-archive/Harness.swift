import Foundation
import FuzzSupport
import SwiftMetricLearning

/// Tensor archives (`DMLTENS`): read as given, which mostly tests the checksum, and with the
/// trailing CRC-32 recomputed, so that mutations reach the counts, names and shapes behind it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    _ = try? TensorArchive<Float>(decoding: bytes, source: "fuzz.archive")
    let fixed = FuzzInput.withTrailingCRC(bytes)
    if let archive = try? TensorArchive<Float>(decoding: fixed, source: "fuzz.archive") {
        for (name, m) in archive.tensors { _ = try? archive.tensor(name, rows: m.rows, columns: m.columns) }
    }
    _ = try? TensorArchive<Double>(decoding: fixed, source: "fuzz.archive")
    return 0
}
