import Foundation
import FuzzSupport
import SwiftMetricLearning

/// Level 5 MAT-files (CARS196's `cars_annos.mat`): tags, compressed elements, dimensions, names,
/// char arrays, cells and structs, then the CARS196 annotation reader over the result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    guard let mat = try? MATFile(data: bytes, source: "fuzz.mat") else { return 0 }
    for value in mat.variables.values { _ = value.count }
    _ = try? Cars196.annotations(in: mat, source: "fuzz.mat")
    return 0
}
