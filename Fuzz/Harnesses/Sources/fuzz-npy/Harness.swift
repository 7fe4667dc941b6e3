import Foundation
import FuzzSupport
import SwiftMetricLearning

/// `.npy` arrays: the header dictionary, the shape and dtype, then the conversions the loaders use.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(data, size)
    guard let array = try? NPYArray(npyData: bytes, source: "fuzz.npy") else { return 0 }
    _ = try? array.matrix(as: Float.self, source: "fuzz.npy")
    _ = try? array.labels(source: "fuzz.npy")
    return 0
}
