import DMLNumerics

/// A split held in memory as a feature matrix (one row per item): `.npy` features, or IDX images
/// already scaled to [0, 1].
public struct TensorSplit: DatasetSplit {
    /// `count × sampleShape.count` values, one row per item.
    public let features: Matrix<Float>
    /// The label of every item, in `0..<classes.count`.
    public let labels: [Int]
    /// `classes[label]`: original id and name of each label.
    public let classes: [DatasetClass]
    /// The shape of one row: `[1, 28, 28]` for Fashion-MNIST, `[d, 1, 1]` for features.
    public let sampleShape: SampleShape
    /// Whether the rows are images with values in [0, 1] (then thumbnails are the pixels × 255).
    public let isImageData: Bool
    /// Whether training batches mirror image rows left–right with probability ½.
    public let horizontalFlip: Bool

    /// A split over `features` (rows = items); throws on a shape or label mismatch. `source` names
    /// the data in errors.
    public init(features: Matrix<Float>, labels: [Int], classes: [DatasetClass], sampleShape: SampleShape,
                isImageData: Bool, horizontalFlip: Bool = false, source: String) throws {
        guard features.columns == sampleShape.count else {
            throw DataError(file: source, "rows have \(features.columns) values, expected \(sampleShape.count) (shape \(sampleShape))")
        }
        guard features.rows == labels.count else {
            throw DataError(file: source, "\(features.rows) rows but \(labels.count) labels")
        }
        if let k = labels.firstIndex(where: { $0 < 0 || $0 >= classes.count }) {
            throw DataError(file: source, "label \(labels[k]) of item \(k) outside 0..<\(classes.count)")
        }
        self.features = features
        self.labels = labels
        self.classes = classes
        self.sampleShape = sampleShape
        self.isImageData = isImageData
        self.horizontalFlip = horizontalFlip && isImageData
    }

    /// The number of items.
    public var count: Int { features.rows }

    /// Copies row `index` (mirrored per channel with probability ½ in training mode if
    /// `horizontalFlip`).
    public func writeSample(_ index: Int, mode: AugmentationMode, generator: inout SeededGenerator,
                            into out: UnsafeMutableBufferPointer<Float>) throws {
        let n = sampleShape.count
        let flip = mode == .train && horizontalFlip && generator.nextUniform() < 0.5
        let w = sampleShape.width
        features.withUnsafeBufferPointer { src in
            let row = index * n
            if !flip {
                for k in 0..<n { out[k] = src[row + k] }
            } else {
                for line in stride(from: 0, to: n, by: w) {
                    for x in 0..<w { out[line + x] = src[row + line + w - 1 - x] }
                }
            }
        }
    }

    /// The row as an 8-bit image (values × 255), downscaled if larger than `size`; nil for features.
    public func thumbnail(_ index: Int, size: Int) throws -> Image? {
        guard isImageData else { return nil }
        let s = sampleShape, plane = s.height * s.width
        let row = features.row(index)
        let image = Image(width: s.width, height: s.height, channels: s.channels) { x, y, c in
            UInt8(min(255, max(0, (row[c * plane + y * s.width + x] * 255).rounded())))
        }
        if image.width <= size && image.height <= size { return image }
        let resized = image.resized(shorterSide: size)
        return resized.cropped(resized.centerRegion(width: min(size, resized.width), height: min(size, resized.height)))
    }
}
