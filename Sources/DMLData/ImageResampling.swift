/// Bilinear resampling with antialiasing (the triangle filter of PIL / torchvision `antialias=True`).
///
/// Output sample `x'` (0-based) of a source span `[s, s + n)` mapped onto `m` outputs has centre
/// `c = s + (x' + ½)·n/m` in source coordinates. With `f = max(n/m, 1)` (the filter widens when
/// shrinking, so every source pixel contributes), its value is
/// `Σ_x w(x)·src(x) / Σ_x w(x)` over the source pixels `x` with `|x + ½ − c| < f`, where
/// `w(x) = max(0, 1 − |x + ½ − c| / f)`. Rows are resampled first, then columns (the filter is
/// separable); results are rounded to the nearest integer and clamped to 0…255.
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
        let firstRow = rows.first.min() ?? 0
        let lastRow = zip(rows.first, rows.count).map { $0 + $1 }.max() ?? 0
        let c = channels
        let rowLength = outWidth * c
        var horizontal = [Float](repeating: 0, count: (lastRow - firstRow) * rowLength)
        var out = [UInt8](repeating: 0, count: outHeight * rowLength)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { mid in
                Self.horizontalPass(src.baseAddress!, sourceWidth: width, channels: c, rows: firstRow..<lastRow,
                                    taps: columns, outputWidth: outWidth, into: mid.baseAddress!)
            }
        }
        horizontal.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                Self.verticalPass(mid.baseAddress!, firstRow: firstRow, rowLength: rowLength, taps: rows,
                                  outputHeight: outHeight, into: dst.baseAddress!)
            }
        }
        return Image(width: outWidth, height: outHeight, channels: c, pixels: out)
    }
}

extension Image {
    /// Resamples source rows `rows` along x into float rows of `outputWidth · channels` values
    /// (row `y` of the source goes to row `y − rows.lowerBound` of `out`).
    fileprivate static func horizontalPass(_ src: UnsafePointer<UInt8>, sourceWidth: Int, channels c: Int, rows: Range<Int>,
                                           taps: ResamplingTaps, outputWidth: Int, into out: UnsafeMutablePointer<Float>) {
        let rowLength = outputWidth * c
        taps.withPointers { first, count, start, allWeights in
            for y in rows {
                let srcRow = src + y * sourceWidth * c
                let dstRow = out + (y - rows.lowerBound) * rowLength
                for ox in 0..<outputWidth {
                    let n = count[ox], weights = allWeights + start[ox]
                    var p = srcRow + first[ox] * c
                    let d = dstRow + ox * c
                    if c == 3 {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for k in 0..<n {
                            let w = weights[k]
                            r += w * Float(p[0]); g += w * Float(p[1]); b += w * Float(p[2])
                            p += 3
                        }
                        d[0] = r; d[1] = g; d[2] = b
                    } else {
                        for ch in 0..<c {
                            var sum: Float = 0
                            for k in 0..<n { sum += weights[k] * Float(p[k * c + ch]) }
                            d[ch] = sum
                        }
                    }
                }
            }
        }
    }

    /// Resamples the float rows along y: output row `oy` is `Σ_k w_k · mid[first(oy) + k − firstRow]`,
    /// rounded half up and clamped to 0…255.
    fileprivate static func verticalPass(_ mid: UnsafePointer<Float>, firstRow: Int, rowLength: Int, taps: ResamplingTaps,
                                         outputHeight: Int, into out: UnsafeMutablePointer<UInt8>) {
        let accumulator = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
        defer { accumulator.deallocate() }
        taps.withPointers { first, count, start, allWeights in
            for oy in 0..<outputHeight {
                accumulator.initialize(repeating: 0, count: rowLength)
                let weights = allWeights + start[oy]
                for k in 0..<count[oy] {
                    let w = weights[k]
                    let line = mid + (first[oy] - firstRow + k) * rowLength
                    for i in 0..<rowLength { accumulator[i] += w * line[i] }
                }
                let d = out + oy * rowLength
                for i in 0..<rowLength { d[i] = UInt8(min(255, max(0, accumulator[i])) + 0.5) }
            }
        }
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
