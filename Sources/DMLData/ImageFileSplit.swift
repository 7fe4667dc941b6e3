import DMLNumerics
import Foundation

/// A split whose items are image files on disk, decoded and augmented on demand.
public struct ImageFileSplit: DatasetSplit {
    /// One image file and its label.
    public struct Item: Equatable, Sendable {
        /// The image file.
        public let path: String
        /// The label in `0..<classes.count`.
        public let label: Int

        /// An item of the given file and label.
        public init(path: String, label: Int) {
            self.path = path
            self.label = label
        }
    }

    /// The items, in the dataset's order.
    public let items: [Item]
    /// The label of every item (`items[i].label`).
    public let labels: [Int]
    /// `classes[label]`: original id and name of each label.
    public let classes: [DatasetClass]
    /// The pipeline for `AugmentationMode.train`.
    public let trainPipeline: AugmentationPipeline
    /// The pipeline for `AugmentationMode.test`.
    public let testPipeline: AugmentationPipeline
    private let cache: PreparedImageCache?

    /// A split over `items`; the two pipelines must give the same output shape. With
    /// `cacheImages`, decoded and resized images are kept in memory (one per item and pipeline
    /// resize), so each file is decoded once.
    public init(items: [Item], classes: [DatasetClass], trainPipeline: AugmentationPipeline,
                testPipeline: AugmentationPipeline, cacheImages: Bool = false) throws {
        guard trainPipeline.outputShape == testPipeline.outputShape else {
            throw DataError(file: "<augmentation>", "train and test pipelines give different shapes: \(trainPipeline.outputShape) and \(testPipeline.outputShape)")
        }
        if let bad = items.first(where: { $0.label < 0 || $0.label >= classes.count }) {
            throw DataError(file: bad.path, "label \(bad.label) outside 0..<\(classes.count)")
        }
        self.items = items
        self.labels = items.map(\.label)
        self.classes = classes
        self.trainPipeline = trainPipeline
        self.testPipeline = testPipeline
        self.cache = cacheImages ? PreparedImageCache() : nil
    }

    /// The same split with the in-memory image cache switched on or off.
    public func cachingImages(_ enabled: Bool) throws -> ImageFileSplit {
        try ImageFileSplit(items: items, classes: classes, trainPipeline: trainPipeline,
                           testPipeline: testPipeline, cacheImages: enabled)
    }

    /// The number of items.
    public var count: Int { items.count }
    /// The output shape of the pipelines.
    public var sampleShape: SampleShape { trainPipeline.outputShape }
    /// Always true.
    public var isImageData: Bool { true }

    /// The pipeline used for `mode`.
    public func pipeline(for mode: AugmentationMode) -> AugmentationPipeline {
        mode == .train ? trainPipeline : testPipeline
    }

    /// Decodes item `index`, prepares it (channels, resize), and writes its augmented CHW floats.
    public func writeSample(_ index: Int, mode: AugmentationMode, generator: inout SeededGenerator,
                            into out: UnsafeMutableBufferPointer<Float>) throws {
        let pipeline = pipeline(for: mode)
        let path = items[index].path
        let prepared: Image
        let key = PreparedImageCache.Key(index: index, channels: pipeline.channels, resize: pipeline.resize)
        if let cached = cache?.image(for: key) {
            prepared = cached
        } else {
            prepared = pipeline.prepare(try ImageDecoder.read(path))
            cache?.store(prepared, for: key)
        }
        try pipeline.augment(prepared, generator: &generator, source: path, into: out)
    }

    /// The image resized to a shorter side of `size`, then its centred `size × size` square
    /// (channels as decoded, gray or RGB).
    public func thumbnail(_ index: Int, size: Int) throws -> Image? {
        let image = try ImageDecoder.read(items[index].path).converted(toChannels: sampleShape.channels)
        let resized = image.resized(shorterSide: size)
        return resized.cropped(resized.centerRegion(width: min(size, resized.width), height: min(size, resized.height)))
    }
}

/// Decoded, resized images kept in memory, shared by the loader threads.
final class PreparedImageCache: @unchecked Sendable {  // `images` is only touched under `lock`.
    /// An item under one (channels, resize) preparation.
    struct Key: Hashable, Sendable {
        let index: Int
        let channels: Int
        let resize: String

        init(index: Int, channels: Int, resize: AugmentationPipeline.Resize) {
            self.index = index
            self.channels = channels
            self.resize = "\(resize)"
        }
    }

    private let lock = NSLock()
    private var images: [Key: Image] = [:]

    /// The cached image of `key`, if any.
    func image(for key: Key) -> Image? { lock.withLock { images[key] } }

    /// Keeps `image` under `key`.
    func store(_ image: Image, for key: Key) { lock.withLock { images[key] = image } }
}
