/// Crops, flips and the conversion of 8-bit HWC pixels to normalized CHW floats.
extension Image {
    /// The pixels of `region`, which must lie inside the image.
    public func cropped(_ region: PixelRegion) -> Image {
        precondition(region.x >= 0 && region.y >= 0 && region.width >= 0 && region.height >= 0
                     && region.x + region.width <= width && region.y + region.height <= height,
                     "crop \(region) outside the \(width)×\(height) image")
        var out = [UInt8]()
        out.reserveCapacity(region.width * region.height * channels)
        for y in region.y..<(region.y + region.height) {
            let start = (y * width + region.x) * channels
            out.append(contentsOf: pixels[start..<(start + region.width * channels)])
        }
        return Image(width: region.width, height: region.height, channels: channels, pixels: out)
    }

    /// The `width × height` region centred in the image (offsets `⌊(W − w)/2⌋`, `⌊(H − h)/2⌋`).
    public func centerRegion(width w: Int, height h: Int) -> PixelRegion {
        PixelRegion(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
    }

    /// The mirror image: pixel `(x, y)` of the result is pixel `(W − 1 − x, y)` of this one.
    public func flippedHorizontally() -> Image {
        var out = pixels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for x in 0..<width {
                        let s = (y * width + (width - 1 - x)) * channels, d = (y * width + x) * channels
                        for c in 0..<channels { dst[d + c] = src[s + c] }
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// Writes `region` (optionally mirrored) as `channels × region.height × region.width` floats in
    /// CHW order: `out[(c·h + y)·w + x] = (p / 255 − mean[c]) / std[c]`, where `p` is sample `c` of
    /// region pixel `(flip ? w − 1 − x : x, y)`.
    public func writeNormalizedCHW(region: PixelRegion, flip: Bool, normalization: Normalization,
                                   into out: UnsafeMutableBufferPointer<Float>) {
        let w = region.width, h = region.height, plane = w * h
        precondition(out.count >= channels * plane, "output buffer too small")
        precondition(region.x >= 0 && region.y >= 0 && region.x + w <= width && region.y + h <= height,
                     "region \(region) outside the \(width)×\(height) image")
        let scale = (0..<channels).map { 1 / (255 * normalization.std(channel: $0)) }
        let shift = (0..<channels).map { -normalization.mean(channel: $0) / normalization.std(channel: $0) }
        pixels.withUnsafeBufferPointer { src in
            for c in 0..<channels {
                let a = scale[c], b = shift[c]
                for y in 0..<h {
                    let rowStart = ((region.y + y) * width + region.x) * channels + c
                    let dst = c * plane + y * w
                    if flip {
                        for x in 0..<w { out[dst + x] = Float(src[rowStart + (w - 1 - x) * channels]) * a + b }
                    } else {
                        for x in 0..<w { out[dst + x] = Float(src[rowStart + x * channels]) * a + b }
                    }
                }
            }
        }
    }
}

/// Per-channel normalization of pixel values scaled to [0, 1]: `v ↦ (v − mean[c]) / std[c]`.
/// A single mean/std value applies to every channel.
public struct Normalization: Equatable, Sendable, Codable {
    /// The per-channel means (one value: every channel).
    public var mean: [Float]
    /// The per-channel standard deviations (one value: every channel); all positive.
    public var std: [Float]

    /// A normalization with the given per-channel means and standard deviations.
    public init(mean: [Float], std: [Float]) {
        precondition(!mean.isEmpty && !std.isEmpty && std.allSatisfy { $0 > 0 }, "normalization needs positive std")
        self.mean = mean
        self.std = std
    }

    /// No normalization beyond scaling to [0, 1]: mean 0, std 1.
    public static let unit = Normalization(mean: [0], std: [1])
    /// The ImageNet statistics every pretrained backbone expects: mean (0.485, 0.456, 0.406),
    /// std (0.229, 0.224, 0.225).
    public static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// The mean applied to channel `c`.
    public func mean(channel c: Int) -> Float { mean.count == 1 ? mean[0] : mean[c] }
    /// The standard deviation applied to channel `c`.
    public func std(channel c: Int) -> Float { std.count == 1 ? std[0] : std[c] }
}
