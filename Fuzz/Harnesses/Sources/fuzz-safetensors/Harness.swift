import Foundation
import FuzzSupport
import SwiftMetricLearning

/// safetensors files: the 8-byte header length, the JSON header (dtypes, shapes, offsets), then every tensor's values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: pointer, count: size))
    guard let contents = try? SafeTensors.parse(bytes, file: "fuzz.safetensors") else { return 0 }
    for tensor in contents.tensors.values {
        if tensor.elementType.isFloatingPoint { _ = try? tensor.floatValues() } else { _ = try? tensor.integerValues() }
    }
    // The same bytes through the format detection `dml weights` uses.
    _ = try? WeightFile.parse(bytes, file: "fuzz.safetensors")
    return 0
}
