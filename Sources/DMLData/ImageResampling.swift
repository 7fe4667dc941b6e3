/// Bilinear resampling with antialiasing (the triangle filter of PIL / torchvision `antialias=True`).
///
/// Output sample `x'` (0-based) of a source span `[s, s + n)` mapped onto `m` outputs has centre
/// `c = s + (x' + ½)·n/m` in source coordinates. With `f = max(n/m, 1)` (the filter widens when
/// shrinking, so every source pixel contributes), its value is
/// `Σ_x w(x)·src(x) / Σ_x w(x)` over the source pixels `x` with `|x + ½ − c| < f`, where
/// `w(x) = max(0, 1 − |x + ½ − c| / f)`. The filter is separable: the pass along y runs first (it
/// reads whole contiguous rows), then the pass along x; the result is rounded half up and clamped
/// to 0…255. Taps near a region's edge may read source pixels just outside it, as PIL's `box` does.
extension Image {
    /// The image resampled to `width × height` (bilinear, antialiased).
    public func resized(width: Int, height: Int) -> Image {
        resampled(region: PixelRegion(x: 0, y: 0, width: self.width, height: self.height), width: width, height: height)
    }

    /// The image resized so its shorter side is `side`, keeping the aspect ratio (the longer side is
    /// `round(side · long / short)`).
    public func resized(shorterSide side: Int) -> Image {
        let (w, h) = Image.size(ofWidth: width, height: height, shorterSide: side)
        if w == width && h == height { return self }
        return resized(width: w, height: h)
    }

    /// The size of a `width × height` image resized to a shorter side of `side`.
    public static func size(ofWidth width: Int, height: Int, shorterSide side: Int) -> (width: Int, height: Int) {
        if width <= height {
            return (side, max(1, Int((Double(side) * Double(height) / Double(width)).rounded())))
        }
        return (max(1, Int((Double(side) * Double(width) / Double(height)).rounded())), side)
    }

    /// The pixels of `region` (which must lie inside the image) resampled to `width × height`.
    public func resampled(region: PixelRegion, width outWidth: Int, height outHeight: Int) -> Image {
        precondition(region.x >= 0 && region.y >= 0 && region.width > 0 && region.height > 0
                     && region.x + region.width <= width && region.y + region.height <= height,
                     "resampled region \(region) outside the \(width)×\(height) image")
        precondition(outWidth > 0 && outHeight > 0, "resampled size must be positive")
        if region.width == outWidth && region.height == outHeight {
            return cropped(region)
        }
        let columns = ResamplingTaps(start: region.x, span: region.width, outputs: outWidth, limit: width)
        let rows = ResamplingTaps(start: region.y, span: region.height, outputs: outHeight, limit: height)
        let firstColumn = columns.first.min() ?? 0
        let lastColumn = zip(columns.first, columns.count).map { $0 + $1 }.max() ?? 0
        let c = channels
        let midLength = (lastColumn - firstColumn) * c
        var vertical = [Float](repeating: 0, count: outHeight * midLength)
        var out = [UInt8](repeating: 0, count: outHeight * outWidth * c)
        pixels.withUnsafeBufferPointer { src in
            vertical.withUnsafeMutableBufferPointer { mid in
                Self.verticalPass(src.baseAddress! + firstColumn * c, sourceRowLength: width * c, length: midLength,
                                  taps: rows, outputHeight: outHeight, into: mid.baseAddress!)
            }
        }
        vertical.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                Self.horizontalPass(mid.baseAddress!, firstColumn: firstColumn, rowLength: midLength, channels: c, rows: outHeight,
                                    taps: columns, outputWidth: outWidth, into: dst.baseAddress!)
            }
        }
        return Image(width: outWidth, height: outHeight, channels: c, pixels: out)
    }
}

extension Image {
    /// Resamples along y: float row `oy` of `out` is `Σ_k w_k · src[first(oy) + k]` over `length`
    /// samples of each source row (rows `sourceRowLength` apart). Contiguous, so it vectorizes.
    fileprivate static func verticalPass(_ src: UnsafePointer<UInt8>, sourceRowLength: Int, length: Int, taps: ResamplingTaps,
                                         outputHeight: Int, into out: UnsafeMutablePointer<Float>) {
        taps.withPointers { first, count, start, allWeights in
            for oy in 0..<outputHeight {
                let acc = out + oy * length
                acc.initialize(repeating: 0, count: length)
                let weights = allWeights + start[oy]
                for k in 0..<count[oy] {
                    let w = weights[k]
                    let line = src + (first[oy] + k) * sourceRowLength
                    for i in 0..<length { acc[i] += w * Float(line[i]) }
                }
            }
        }
    }

    /// Resamples the float rows along x into 8-bit pixels, rounded half up and clamped to 0…255.
    fileprivate static func horizontalPass(_ mid: UnsafePointer<Float>, firstColumn: Int, rowLength: Int, channels c: Int, rows: Int,
                                           taps: ResamplingTaps, outputWidth: Int, into out: UnsafeMutablePointer<UInt8>) {
        taps.withPointers { first, count, start, allWeights in
            for y in 0..<rows {
                let srcRow = mid + y * rowLength
                let dstRow = out + y * outputWidth * c
                for ox in 0..<outputWidth {
                    let n = count[ox], weights = allWeights + start[ox]
                    var p = srcRow + (first[ox] - firstColumn) * c
                    let d = dstRow + ox * c
                    if c == 3 {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for k in 0..<n {
                            let w = weights[k]
                            r += w * p[0]; g += w * p[1]; b += w * p[2]
                            p += 3
                        }
                        d[0] = quantized(r); d[1] = quantized(g); d[2] = quantized(b)
                    } else {
                        for ch in 0..<c {
                            var sum: Float = 0
                            for k in 0..<n { sum += weights[k] * p[k * c + ch] }
                            d[ch] = quantized(sum)
                        }
                    }
                }
            }
        }
    }

    /// `v` rounded half up and clamped to 0…255.
    @inline(__always)
    fileprivate static func quantized(_ v: Float) -> UInt8 {
        UInt8(min(255, max(0, v)) + 0.5)
    }
}

/// The normalized triangle-filter taps of one axis: output `i` reads source samples
/// `first[i] ..< first[i] + count[i]` with weights `weights[weightStart[i] ..< weightStart[i] + count[i]]`.
struct ResamplingTaps {
    var first: [Int] = []
    var count: [Int] = []
    var weightStart: [Int] = []
    var weights: [Float] = []

    /// Calls `body` with pointers to `first`, `count`, `weightStart` and `weights`.
    func withPointers<R>(_ body: (UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Int>, UnsafePointer<Float>) -> R) -> R {
        first.withUnsafeBufferPointer { f in
            count.withUnsafeBufferPointer { n in
                weightStart.withUnsafeBufferPointer { s in
                    weights.withUnsafeBufferPointer { w in body(f.baseAddress!, n.baseAddress!, s.baseAddress!, w.baseAddress!) }
                }
            }
        }
    }

    /// Taps mapping the source span `[start, start + span)` (inside `0..<limit`) onto `outputs` samples.
    init(start: Int, span: Int, outputs: Int, limit: Int) {
        let scale = Double(span) / Double(outputs)
        let filterScale = max(scale, 1)
        let support = filterScale
        for i in 0..<outputs {
            let center = Double(start) + (Double(i) + 0.5) * scale
            let lo = max(Int((center - support + 0.5).rounded(.down)), 0)
            let hi = min(Int((center + support + 0.5).rounded(.down)), limit)
            var local = [Double]()
            for x in lo..<max(hi, lo + 1) {
                local.append(max(0, 1 - abs((Double(x) + 0.5 - center) / filterScale)))
            }
            let total = local.reduce(0, +)
            first.append(lo)
            count.append(local.count)
            weightStart.append(weights.count)
            weights.append(contentsOf: local.map { Float(total > 0 ? $0 / total : 1 / Double(local.count)) })
        }
    }
}
