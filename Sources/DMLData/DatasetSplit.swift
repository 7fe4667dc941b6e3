import DMLNumerics

/// Which half of a class-disjoint dataset: the training classes or the held-out test classes.
public enum DataSplit: String, Sendable, CaseIterable, Codable {
    /// The training classes.
    case train
    /// The held-out classes, never seen in training.
    case test
}

/// Which augmentation a sample gets: the random training pipeline or the deterministic test one.
public enum AugmentationMode: String, Sendable, CaseIterable, Codable {
    /// Random crops and flips (when the pipeline has them).
    case train
    /// The deterministic pipeline (resize and centre crop).
    case test
}

/// One class of a split: its original identifier and name in the dataset's own files.
public struct DatasetClass: Equatable, Sendable, Codable {
    /// The class id as the dataset numbers it (CUB 1…200, Fashion-MNIST 0…9, a folder's sorted index).
    public let originalID: Int
    /// A readable name (folder name, class name, or the id as text).
    public let name: String

    /// A class with the given original id and name.
    public init(originalID: Int, name: String) {
        self.originalID = originalID
        self.name = name
    }
}

/// The items of one split of a dataset, with labels remapped to `0..<classCount` (in increasing
/// order of the original class ids) and a way to turn items into batch rows.
///
/// Conforming types are immutable values (or use internal locking), so a split can be read from
/// several loader threads at once.
public protocol DatasetSplit: Sendable {
    /// The number of items.
    var count: Int { get }
    /// The label of every item, in `0..<classes.count`.
    var labels: [Int] { get }
    /// `classes[label]` is the original class of `label`.
    var classes: [DatasetClass] { get }
    /// The shape of one sample, `[C, H, W]` (a feature vector of dimension d is `[d, 1, 1]`).
    var sampleShape: SampleShape { get }
    /// Whether the samples are images (thumbnails make sense).
    var isImageData: Bool { get }

    /// Writes item `index` as `sampleShape.count` floats (CHW order) into `out`, augmented for
    /// `mode` with random numbers from `generator`.
    func writeSample(_ index: Int, mode: AugmentationMode, generator: inout SeededGenerator,
                     into out: UnsafeMutableBufferPointer<Float>) throws

    /// Item `index` as a small 8-bit image whose sides are at most `size` (nil for feature data).
    func thumbnail(_ index: Int, size: Int) throws -> Image?
}

extension DatasetSplit {
    /// The number of classes `C`.
    public var classCount: Int { classes.count }

    /// The labels of the given items.
    public func labels(of indices: [Int]) -> [Int] { indices.map { labels[$0] } }

    /// The generator of the item at `position` of the batch of `iteration`: stream
    /// `splitmix(iteration) ⊕ position` of `seed`, so a sample's augmentation depends only on
    /// (seed, iteration, position), never on which thread made it or when.
    public static func itemGenerator(seed: UInt64, iteration: Int, position: Int) -> SeededGenerator {
        var z = UInt64(bitPattern: Int64(iteration)) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return SeededGenerator(seed: seed, stream: z ^ UInt64(position))
    }

    /// A `indices.count × sampleShape.count` batch: row `r` is item `indices[r]`, augmented for
    /// `mode` with the generator `itemGenerator(seed:iteration:position: firstPosition + r)`.
    ///
    /// `firstPosition` is the position of `indices[0]` in the whole batch: a data-parallel rank
    /// that loads rows `a..<b` of a global batch passes `a`, so each item is augmented exactly as a
    /// single process would.
    public func batch(_ indices: [Int], mode: AugmentationMode, seed: UInt64 = 0, iteration: Int = 0,
                      firstPosition: Int = 0) throws -> Matrix<Float> {
        let width = sampleShape.count
        var out = Matrix<Float>(rows: indices.count, columns: width)
        try out.withUnsafeMutableBufferPointer { buffer in
            for (row, index) in indices.enumerated() {
                guard index >= 0 && index < count else {
                    throw DataError(file: "<\(Self.self)>", "item index \(index) outside 0..<\(count)")
                }
                var generator = Self.itemGenerator(seed: seed, iteration: iteration, position: firstPosition + row)
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[(row * width)..<((row + 1) * width)])
                try writeSample(index, mode: mode, generator: &generator, into: slice)
            }
        }
        return out
    }

    /// Thumbnails of every item (or of `indices`), as a uint8 `.npy` array `N × h × w × c` with
    /// `h, w ≤ size` (for `embeddings/test_thumbnails.npy`); nil when the data are not images.
    public func thumbnails(_ indices: [Int]? = nil, size: Int = 32) throws -> NPYArray? {
        guard isImageData else { return nil }
        let items = indices ?? Array(0..<count)
        var pixels = [UInt8]()
        var shape: (Int, Int, Int)?
        for index in items {
            guard var image = try thumbnail(index, size: size) else { return nil }
            if let s = shape, (s.0, s.1, s.2) != (image.height, image.width, image.channels) {
                image = image.converted(toChannels: s.2).resized(width: s.1, height: s.0)
            }
            shape = shape ?? (image.height, image.width, image.channels)
            pixels.append(contentsOf: image.pixels)
        }
        let (h, w, c) = shape ?? (size, size, sampleShape.channels == 3 ? 3 : 1)
        return NPYArray(shape: [items.count, h, w, c], values: .uint8(pixels))
    }
}

/// A dataset with its class-disjoint train and test splits.
public struct Dataset: Sendable {
    /// A short name (`cub`, `omniglot`, …).
    public let name: String
    /// The training classes.
    public let train: any DatasetSplit
    /// The held-out classes.
    public let test: any DatasetSplit

    /// A dataset of the given splits.
    public init(name: String, train: any DatasetSplit, test: any DatasetSplit) {
        self.name = name
        self.train = train
        self.test = test
    }

    /// The split `split`.
    public func split(_ split: DataSplit) -> any DatasetSplit {
        split == .train ? train : test
    }
}
