import RealModule

extension NetworkScalar {
    @inlinable
    public static func im2col(_ x: UnsafePointer<Self>, geometry g: ConvolutionGeometry, batch: Int, into col: UnsafeMutablePointer<Self>) {
        if g.isSameStrideOne {
            im2colSame(x, geometry: g, batch: batch, into: col)
            return
        }
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideHeight, s = g.strideWidth
        let top = g.padding.top, left = g.padding.left
        let oh = g.outputHeight, ow = g.outputWidth, p = g.outputSpatial
        let plane = g.height * g.width
        let rowLength = batch * p
        for c in 0..<g.channels {
            for i in 0..<kh {
                for j in 0..<kw {
                    let r = (c * kh + i) * kw + j
                    let valid = g.validOutputColumns(kernelColumn: j)
                    let rowBase = col + r * rowLength
                    for n in 0..<batch {
                        let src = x + (n * g.channels + c) * plane
                        let dst = rowBase + n * p
                        for y in 0..<oh {
                            let d = dst + y * ow
                            let ih = y * sh - top + i
                            // Short rows (a few dozen values): plain loops, not memcpy/memset calls.
                            if ih < 0 || ih >= g.height {
                                for xo in 0..<ow { d[xo] = 0 }
                                continue
                            }
                            let srow = src + ih * g.width - left + j
                            for xo in 0..<valid.lowerBound { d[xo] = 0 }
                            if s == 1 {
                                for xo in valid { d[xo] = srow[xo] }
                            } else {
                                for xo in valid { d[xo] = srow[xo * s] }
                            }
                            for xo in valid.upperBound..<ow { d[xo] = 0 }
                        }
                    }
                }
            }
        }
    }

    @inlinable
    public static func col2im(_ col: UnsafePointer<Self>, geometry g: ConvolutionGeometry, batch: Int, into dx: UnsafeMutablePointer<Self>) {
        if g.isSameStrideOne {
            col2imSame(col, geometry: g, batch: batch, into: dx)
            return
        }
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideHeight, s = g.strideWidth
        let top = g.padding.top, left = g.padding.left
        let oh = g.outputHeight, ow = g.outputWidth, p = g.outputSpatial
        let plane = g.height * g.width
        let rowLength = batch * p
        dx.update(repeating: 0, count: batch * g.channels * plane)
        for c in 0..<g.channels {
            for i in 0..<kh {
                for j in 0..<kw {
                    let r = (c * kh + i) * kw + j
                    let valid = g.validOutputColumns(kernelColumn: j)
                    let rowBase = col + r * rowLength
                    for n in 0..<batch {
                        let dst = dx + (n * g.channels + c) * plane
                        let src = rowBase + n * p
                        for y in 0..<oh {
                            let ih = y * sh - top + i
                            if ih < 0 || ih >= g.height { continue }
                            let srow = src + y * ow
                            let drow = dst + ih * g.width - left + j
                            if s == 1 {
                                for xo in valid { drow[xo] += srow[xo] }
                            } else {
                                for xo in valid { drow[xo * s] += srow[xo] }
                            }
                        }
                    }
                }
            }
        }
    }

    @inlinable
    public static func channelMajorToBatch(_ z: UnsafePointer<Self>, bias: UnsafePointer<Self>?, into y: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int) {
        let rowLength = batch * spatial
        for n in 0..<batch {
            for c in 0..<channels {
                let src = z + c * rowLength + n * spatial
                let dst = y + (n * channels + c) * spatial
                if let bias {
                    let b = bias[c]
                    for q in 0..<spatial { dst[q] = src[q] + b }
                } else {
                    dst.update(from: src, count: spatial)
                }
            }
        }
    }

    @inlinable
    public static func batchToChannelMajor(_ g: UnsafePointer<Self>, into z: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int) {
        let rowLength = batch * spatial
        for n in 0..<batch {
            for c in 0..<channels {
                (z + c * rowLength + n * spatial).update(from: g + (n * channels + c) * spatial, count: spatial)
            }
        }
    }

    /// im2col for stride 1 with an output as large as the input ("same" padding, `OW = W`):
    /// row `(c, i, j)` of a sample is its plane `c` shifted by `(i − pad)·W + (j − pad)`, so it is
    /// one contiguous copy, then the rows above/below the image and the wrapped border columns
    /// are set to 0.
    @inlinable
    static func im2colSame(_ x: UnsafePointer<Self>, geometry g: ConvolutionGeometry, batch: Int, into col: UnsafeMutablePointer<Self>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, top = g.padding.top, left = g.padding.left
        let w = g.width, h = g.height
        let p = h * w, rowLength = batch * p
        for c in 0..<g.channels {
            for i in 0..<kh {
                let dy = i - top
                let yLo = Swift.max(0, -dy), yHi = Swift.min(h, h - dy)
                for j in 0..<kw {
                    let dx = j - left
                    let rowBase = col + ((c * kh + i) * kw + j) * rowLength
                    for n in 0..<batch {
                        let src = x + (n * g.channels + c) * p
                        let dst = rowBase + n * p
                        for q in 0..<(yLo * w) { dst[q] = 0 }
                        for q in (yHi * w)..<p { dst[q] = 0 }
                        guard yHi > yLo else { continue }
                        // dst[q] = src[q + shift] for q in the valid rows, trimmed so every read
                        // stays inside the plane; the trimmed ends are border columns (zeroed below).
                        let shift = dy * w + dx
                        let qLo = yLo * w + Swift.max(0, -dx), qHi = yHi * w - Swift.max(0, dx)
                        if qHi > qLo {
                            let from = src + shift
                            for q in qLo..<qHi { dst[q] = from[q] }
                        }
                        if dx != 0 {
                            let left = Swift.max(0, -dx), right = Swift.max(0, dx)
                            for y in yLo..<yHi {
                                let row = dst + y * w
                                for xo in 0..<left { row[xo] = 0 }
                                for xo in (w - right)..<w { row[xo] = 0 }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2colSame`: one contiguous shifted add per row `(c, i, j)` and sample,
    /// skipping the border columns that im2col set to 0.
    @inlinable
    static func col2imSame(_ col: UnsafePointer<Self>, geometry g: ConvolutionGeometry, batch: Int, into dxOut: UnsafeMutablePointer<Self>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, top = g.padding.top, padLeft = g.padding.left
        let w = g.width, h = g.height
        let p = h * w, rowLength = batch * p
        dxOut.update(repeating: 0, count: batch * g.channels * p)
        for c in 0..<g.channels {
            for i in 0..<kh {
                let dy = i - top
                let yLo = Swift.max(0, -dy), yHi = Swift.min(h, h - dy)
                guard yHi > yLo else { continue }
                for j in 0..<kw {
                    let dx = j - padLeft
                    let left = Swift.max(0, -dx), right = Swift.max(0, dx)
                    let rowBase = col + ((c * kh + i) * kw + j) * rowLength
                    for n in 0..<batch {
                        let src = rowBase + n * p
                        let to = dxOut + (n * g.channels + c) * p + dy * w + dx
                        if dx == 0 {
                            for q in (yLo * w)..<(yHi * w) { to[q] += src[q] }
                        } else {
                            for y in yLo..<yHi {
                                let base = y * w
                                for q in (base + left)..<(base + w - right) { to[q] += src[q] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension NetworkScalar {
    @inlinable
    public static func depthwiseForward(_ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, geometry g: ConvolutionGeometry, multiplier m: Int, into y: UnsafeMutablePointer<Self>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
        let top = g.padding.top, left = g.padding.left
        let oh = g.outputHeight, ow = g.outputWidth, p = oh * ow, plane = g.height * g.width
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * plane
            let dst = y + o * p
            dst.update(repeating: bias?[o] ?? 0, count: p)
            for i in 0..<kh {
                for j in 0..<kw {
                    let w = weight[(o * kh + i) * kw + j]
                    let valid = g.validOutputColumns(kernelColumn: j)
                    guard !valid.isEmpty else { continue }
                    for r in 0..<oh {
                        let ih = r * sh - top + i
                        if ih < 0 || ih >= g.height { continue }
                        let srow = src + ih * g.width - left + j
                        let drow = dst + r * ow
                        if sw == 1 {
                            for q in valid { drow[q] = Relaxed.multiplyAdd(w, srow[q], drow[q]) }
                        } else {
                            for q in valid { drow[q] = Relaxed.multiplyAdd(w, srow[q &* sw], drow[q]) }
                        }
                    }
                }
            }
        }
    }

    @inlinable
    public static func depthwiseBackward(_ gradient: UnsafePointer<Self>, input x: UnsafePointer<Self>, weight: UnsafePointer<Self>, geometry g: ConvolutionGeometry, multiplier m: Int, weightGradient: UnsafeMutablePointer<Self>?, inputGradient: UnsafeMutablePointer<Self>?) {
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
        let top = g.padding.top, left = g.padding.left
        let oh = g.outputHeight, ow = g.outputWidth, p = oh * ow, plane = g.height * g.width
        inputGradient?.update(repeating: 0, count: g.channels * plane)
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * plane
            let gp = gradient + o * p
            let dxPlane = inputGradient.map { $0 + (o / m) * plane }
            for i in 0..<kh {
                for j in 0..<kw {
                    let wIndex = (o * kh + i) * kw + j
                    let w = weight[wIndex]
                    let valid = g.validOutputColumns(kernelColumn: j)
                    guard !valid.isEmpty else { continue }
                    var acc: Self = 0
                    for r in 0..<oh {
                        let ih = r * sh - top + i
                        if ih < 0 || ih >= g.height { continue }
                        let offset = ih * g.width - left + j
                        let srow = src + offset
                        let grow = gp + r * ow
                        if weightGradient != nil {
                            if sw == 1 {
                                for q in valid { acc = Relaxed.multiplyAdd(grow[q], srow[q], acc) }
                            } else {
                                for q in valid { acc = Relaxed.multiplyAdd(grow[q], srow[q &* sw], acc) }
                            }
                        }
                        if let dxPlane {
                            let drow = dxPlane + offset
                            if sw == 1 {
                                for q in valid { drow[q] = Relaxed.multiplyAdd(w, grow[q], drow[q]) }
                            } else {
                                for q in valid { drow[q &* sw] = Relaxed.multiplyAdd(w, grow[q], drow[q &* sw]) }
                            }
                        }
                    }
                    weightGradient?[wIndex] += acc
                }
            }
        }
    }
}
