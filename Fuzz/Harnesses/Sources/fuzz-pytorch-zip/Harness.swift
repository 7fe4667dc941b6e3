import Foundation
import FuzzSupport
import SwiftMetricLearning

/// PyTorch zip checkpoints (`torch.save` since 1.6): the zip directory, `data.pkl` through the allowlisting unpickler, and the storages it points at.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: pointer, count: size))
    guard let contents = try? TorchCheckpoint.parseZip(bytes, file: "fuzz.pth") else { return 0 }
    for tensor in contents.tensors.values {
        if tensor.elementType.isFloatingPoint { _ = try? tensor.floatValues() } else { _ = try? tensor.integerValues() }
    }
    // The same bytes through the format detection `dml weights` uses.
    _ = try? WeightFile.parse(bytes, file: "fuzz.pth")
    return 0
}
