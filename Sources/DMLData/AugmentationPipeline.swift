import DMLNumerics
import Foundation

/// The shape of one sample: `channels × height × width` (CHW), or a feature vector of
/// `channels` values when `height == width == 1` and the data are not images.
public struct SampleShape: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Channels (1 gray, 3 RGB), or the feature dimension for feature data.
    public var channels: Int
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int

    /// The shape `[channels, height, width]`.
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// `C · H · W`, the number of columns of a batch matrix.
    public var count: Int { channels * height * width }
    /// `[C, H, W]`.
    public var dimensions: [Int] { [channels, height, width] }
    /// `C×H×W`.
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// How one decoded image becomes one row of a batch: channel conversion, resize, crop, flip and
/// per-channel normalization, in that order.
///
/// The deterministic first part (`prepare`: channels and resize) can be cached; the random part
/// (`augment`: crop, flip, normalize) draws from a generator owned by the caller, so the result is
/// fixed by the generator's seed alone.
public struct AugmentationPipeline: Equatable, Sendable, Codable {
    /// The first, deterministic resize.
    public enum Resize: Equatable, Sendable, Codable {
        /// Keep the decoded size.
        case none
        /// Scale so the shorter side has this length, keeping the aspect ratio.
        case shorterSide(Int)
        /// Scale both sides to exactly this size.
        case exact(width: Int, height: Int)
    }

    /// The crop taken from the resized image.
    public enum Crop: Equatable, Sendable, Codable {
        /// No crop (the resize must then be `.exact`, so every sample has the same shape).
        case none
        /// The centred `width × height` region.
        case center(width: Int, height: Int)
        /// A `width × height` region at a uniformly random position.
        case random(width: Int, height: Int)
        /// torchvision's RandomResizedCrop: a region of area `s·A` (s uniform in `scale`) and aspect
        /// ratio `r` (log-uniform in `aspectRatio`), at a uniform position, resampled to
        /// `width × height`; after 10 failed draws, the largest centred region of ratio within bounds.
        case randomResized(width: Int, height: Int, scale: ClosedRange<Double>, aspectRatio: ClosedRange<Double>)
    }

    /// Output channels: 1 (gray) or 3 (RGB).
    public var channels: Int
    /// The deterministic resize.
    public var resize: Resize
    /// The crop.
    public var crop: Crop
    /// Whether to mirror left–right with probability ½.
    public var horizontalFlip: Bool
    /// Per-channel normalization of the [0, 1]-scaled pixels.
    public var normalization: Normalization

    /// A pipeline; throws if the output shape would not be fixed (no crop and no exact resize) or a
    /// size is not positive.
    public init(channels: Int, resize: Resize, crop: Crop = .none, horizontalFlip: Bool = false,
                normalization: Normalization = .unit) throws {
        guard channels == 1 || channels == 3 else {
            throw DataError(file: "<augmentation>", "channels must be 1 or 3, got \(channels)")
        }
        self.channels = channels
        self.resize = resize
        self.crop = crop
        self.horizontalFlip = horizontalFlip
        self.normalization = normalization
        guard let shape = outputShapeIfFixed, shape.width > 0, shape.height > 0 else {
            throw DataError(file: "<augmentation>", "the pipeline must end in a fixed positive size: use an exact resize or a crop")
        }
        if case .shorterSide(let s) = resize, s <= 0 {
            throw DataError(file: "<augmentation>", "resize side must be positive, got \(s)")
        }
        for (name, count) in [("mean", normalization.mean.count), ("std", normalization.std.count)] where count != 1 && count != channels {
            throw DataError(file: "<augmentation>", "normalization \(name) has \(count) values for \(channels) channels")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case channels, resize, crop, horizontalFlip, normalization
    }

    /// Decodes a pipeline and validates it as `init(channels:resize:crop:horizontalFlip:normalization:)` does.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(channels: c.decode(Int.self, forKey: .channels), resize: c.decode(Resize.self, forKey: .resize),
                          crop: c.decode(Crop.self, forKey: .crop), horizontalFlip: c.decode(Bool.self, forKey: .horizontalFlip),
                          normalization: c.decode(Normalization.self, forKey: .normalization))
        } catch let error as DataError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.reason))
        }
    }

    private var outputShapeIfFixed: SampleShape? {
        switch crop {
        case .center(let w, let h), .random(let w, let h), .randomResized(let w, let h, _, _):
            return SampleShape(channels: channels, height: h, width: w)
        case .none:
            if case .exact(let w, let h) = resize { return SampleShape(channels: channels, height: h, width: w) }
            return nil
        }
    }

    /// The `[C, H, W]` shape of every output sample.
    public var outputShape: SampleShape { outputShapeIfFixed! }

    /// Whether `augment` draws random numbers (a random crop or a flip).
    public var isRandom: Bool {
        switch crop {
        case .random, .randomResized: return true
        case .none, .center: return horizontalFlip
        }
    }

    /// The deterministic part: the image converted to `channels` and resized.
    public func prepare(_ image: Image) -> Image {
        let converted = image.converted(toChannels: channels)
        switch resize {
        case .none: return converted
        case .shorterSide(let side): return converted.resized(shorterSide: side)
        case .exact(let w, let h): return (w == image.width && h == image.height) ? converted : converted.resized(width: w, height: h)
        }
    }

    /// The random part applied to a prepared image, written as `C·H·W` normalized floats (CHW) into
    /// `out`. A crop larger than the image is a `DataError` naming `source`.
    public func augment(_ prepared: Image, generator: inout SeededGenerator, source: String,
                        into out: UnsafeMutableBufferPointer<Float>) throws {
        let shape = outputShape
        var image = prepared
        var region: PixelRegion
        switch crop {
        case .none:
            region = PixelRegion(x: 0, y: 0, width: image.width, height: image.height)
        case .center(let w, let h):
            try Self.check(image, fits: w, h, source: source)
            region = image.centerRegion(width: w, height: h)
        case .random(let w, let h):
            try Self.check(image, fits: w, h, source: source)
            let x = generator.nextInt(below: image.width - w + 1)
            let y = generator.nextInt(below: image.height - h + 1)
            region = PixelRegion(x: x, y: y, width: w, height: h)
        case .randomResized(let w, let h, let scale, let ratio):
            let source = Self.randomResizedRegion(width: image.width, height: image.height, scale: scale,
                                                  aspectRatio: ratio, generator: &generator)
            image = image.resampled(region: source, width: w, height: h)
            region = PixelRegion(x: 0, y: 0, width: w, height: h)
        }
        guard region.width == shape.width && region.height == shape.height else {
            throw DataError(file: source, "image is \(region.width)×\(region.height) after resizing, expected \(shape.width)×\(shape.height)")
        }
        let flip = horizontalFlip && generator.nextUniform() < 0.5
        image.writeNormalizedCHW(region: region, flip: flip, normalization: normalization, into: out)
    }

    private static func check(_ image: Image, fits w: Int, _ h: Int, source: String) throws {
        guard image.width >= w && image.height >= h else {
            throw DataError(file: source, "image is \(image.width)×\(image.height) after resizing, too small for a \(w)×\(h) crop")
        }
    }

    /// torchvision's RandomResizedCrop region for a `width × height` image.
    static func randomResizedRegion(width: Int, height: Int, scale: ClosedRange<Double>, aspectRatio: ClosedRange<Double>,
                                    generator: inout SeededGenerator) -> PixelRegion {
        let area = Double(width * height)
        let logLow = log(aspectRatio.lowerBound), logHigh = log(aspectRatio.upperBound)
        for _ in 0..<10 {
            let target = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * generator.nextUniform())
            let ratio = exp(logLow + (logHigh - logLow) * generator.nextUniform())
            let w = Int((target * ratio).squareRoot().rounded())
            let h = Int((target / ratio).squareRoot().rounded())
            if w > 0 && h > 0 && w <= width && h <= height {
                let x = generator.nextInt(below: width - w + 1)
                let y = generator.nextInt(below: height - h + 1)
                return PixelRegion(x: x, y: y, width: w, height: h)
            }
        }
        let imageRatio = Double(width) / Double(height)
        var w = width, h = height
        if imageRatio < aspectRatio.lowerBound {
            h = max(1, Int((Double(w) / aspectRatio.lowerBound).rounded()))
        } else if imageRatio > aspectRatio.upperBound {
            w = max(1, Int((Double(h) * aspectRatio.upperBound).rounded()))
        }
        return PixelRegion(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }
}
