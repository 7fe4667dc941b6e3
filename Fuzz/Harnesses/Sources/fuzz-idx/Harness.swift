import Foundation
import FuzzSupport
import SwiftMetricLearning

/// Uncompressed IDX files: the header and shape, then, for a 3-D array, the MNIST-family dataset
/// built from it (the same file as training and test images, with labels made to fit).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    guard let idx = try? IDXFile(data: bytes, source: "fuzz.idx") else { return 0 }
    buildDataset(from: idx)
    return 0
}

/// The dataset of `idx` as both image files, labels 0…9 in turn.
func buildDataset(from idx: IDXFile) {
    // Labels are made for at most as many images as there are bytes (0-pixel images aside).
    guard idx.shape.count == 3, idx.shape[0] <= max(idx.values.count, 1 << 12) else { return }
    let n = idx.shape[0]
    var header: [UInt8] = [0, 0, 8, 1]
    header += withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian, Array.init)
    let labelBytes = Data(header + (0..<n).map { UInt8($0 % 10) })
    guard let labels = try? IDXFile(data: labelBytes, source: "labels.idx") else { return }
    let images = IDXDataset.Part(idx: idx, source: "images.idx")
    let labelPart = IDXDataset.Part(idx: labels, source: "labels.idx")
    _ = try? IDXDataset.dataset(trainImages: images, trainLabels: labelPart, testImages: images, testLabels: labelPart)
}
