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
        // Horizontal pass over the source rows the vertical taps touch.
        var horizontal = [Float](repeating: 0, count: (lastRow - firstRow) * outWidth * c)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in firstRow..<lastRow {
                    let srcRow = y * width * c
                    let dstRow = (y - firstRow) * outWidth * c
                    for ox in 0..<outWidth {
                        let x0 = columns.first[ox], n = columns.count[ox], w0 = columns.weightStart[ox]
                        for ch in 0..<c {
                            var sum: Float = 0
                            for k in 0..<n { sum += columns.weights[w0 + k] * Float(src[srcRow + (x0 + k) * c + ch]) }
                            dst[dstRow + ox * c + ch] = sum
                        }
                    }
                }
            }
        }
        // Vertical pass.
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * c)
        horizontal.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let rowLength = outWidth * c
                for oy in 0..<outHeight {
                    let y0 = rows.first[oy] - firstRow, n = rows.count[oy], w0 = rows.weightStart[oy]
                    for i in 0..<rowLength {
                        var sum: Float = 0
                        for k in 0..<n { sum += rows.weights[w0 + k] * src[(y0 + k) * rowLength + i] }
                        dst[oy * rowLength + i] = UInt8(min(255, max(0, sum.rounded())))
                    }
                }
            }
        }
        return Image(width: outWidth, height: outHeight, channels: c, pixels: out)
    }
}

/// The normalized triangle-filter taps of one axis: output `i` reads source samples
/// `first[i] ..< first[i] + count[i]` with weights `weights[weightStart[i] ..< weightStart[i] + count[i]]`.
struct ResamplingTaps {
    var first: [Int] = []
    var count: [Int] = []
    var weightStart: [Int] = []
    var weights: [Float] = []

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
