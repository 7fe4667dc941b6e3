import Foundation
import FuzzSupport
import SwiftMetricLearning

/// JPEG files through TurboJPEG, in the file's own colour space and forced to gray and to RGB.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: pointer, count: size)
    for channels in [nil, 1, 3] as [Int?] {
        guard let image = try? JPEGCodec.decode(bytes, channels: channels, source: "fuzz.jpg") else { return 0 }
        precondition(image.pixels.count == image.width * image.height * image.channels)
    }
    return 0
}
