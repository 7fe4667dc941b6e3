import Foundation
import FuzzSupport
import SwiftMetricLearning

/// PNG files through libpng's simplified API, in the file's own colour type and forced to gray
/// and to RGB (the three ways the loaders decode).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: pointer, count: size)
    for channels in [nil, 1, 3] as [Int?] {
        guard let image = try? PNGCodec.decode(bytes, channels: channels, source: "fuzz.png") else { return 0 }
        precondition(image.pixels.count == image.width * image.height * image.channels)
    }
    return 0
}
