import Foundation
import FuzzSupport
import SwiftMetricLearning

/// PyTorch legacy checkpoints (a sequence of pickles: magic, protocol, system info, the object, storage keys, raw storages) through the allowlisting unpickler.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: pointer, count: size))
    guard let contents = try? TorchCheckpoint.parseLegacy(bytes, file: "fuzz.pth") else { return 0 }
    for tensor in contents.tensors.values {
        if tensor.elementType.isFloatingPoint { _ = try? tensor.floatValues() } else { _ = try? tensor.integerValues() }
    }
    // The same bytes through the format detection `dml weights` uses.
    _ = try? WeightFile.parse(bytes, file: "fuzz.pth")
    return 0
}
