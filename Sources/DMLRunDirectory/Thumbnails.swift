import DMLNumerics

/// The small images of the test items: `embeddings/test_thumbnails.npy`, uint8, N × h × w × c
/// with c = 1 (grey) or 3 (RGB), row-major pixels.
public struct Thumbnails: Sendable, Equatable {
    /// The number of images.
    public let count: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Channels per pixel: 1 or 3.
    public let channels: Int
    /// All pixels, image after image.
    public let pixels: [UInt8]

    /// Checks the array's type and shape; `source` names the file in errors.
    public init(_ array: NPYArray, source: String) throws {
        guard case .uint8(let values) = array.values else {
            throw RunFormatError(source: source, reason: "expected uint8 thumbnails, got \(array.dtype.name)")
        }
        let shape = array.shape.count == 3 ? array.shape + [1] : array.shape
        guard shape.count == 4, shape[3] == 1 || shape[3] == 3, shape[1] > 0, shape[2] > 0 else {
            throw RunFormatError(source: source, reason: "expected shape N × h × w × c with c = 1 or 3, got \(array.shape)")
        }
        count = shape[0]
        height = shape[1]
        width = shape[2]
        channels = shape[3]
        pixels = values
    }

    /// The pixels of image `index` (h·w·c bytes).
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        let size = height * width * channels
        return pixels[(index * size)..<((index + 1) * size)]
    }
}
