import Foundation
import FuzzSupport
import SwiftMetricLearning

/// IDX files as stored, gzip-compressed: zlib's inflation, the size bound, then the IDX parser.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    _ = try? IDXFile(fileData: bytes, source: "fuzz.idx.gz")
    // A small bound, to exercise the refusal of streams that inflate past it.
    _ = try? Inflate.decompress(bytes, source: "fuzz.gz", maximumSize: 1 << 12)
    return 0
}
