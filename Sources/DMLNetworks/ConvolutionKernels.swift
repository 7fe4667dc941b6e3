import DMLNumerics
import RealModule

/// The convolution kernels: im2col and its adjoint col2im, the channel-major ↔ NCHW layout changes
/// of the batched GEMM, and the direct depthwise convolution. A part of `NetworkScalar` (see there
/// why these are protocol requirements); the default implementations below are specialized for
/// `Float` and `Double`.
public protocol ConvolutionKernels: BLASScalar {
    /// Unfolds convolution patches: `col[r, n·P + p]` with `r = (c·k + i)·k + j`, `P = OH·OW`,
    /// `p = oh·OW + ow`, equals `x[n, c, oh·s − pad + i, ow·s − pad + j]` (0 outside the image).
    static func im2col(_ x: UnsafePointer<Self>, geometry: ConvolutionGeometry, batch: Int, into col: UnsafeMutablePointer<Self>)
    /// The adjoint of `im2col`: `dx[n, c, ih, iw] = Σ col[r, n·P + p]` over the patches that read it
    /// (`dx` is overwritten).
    static func col2im(_ col: UnsafePointer<Self>, geometry: ConvolutionGeometry, batch: Int, into dx: UnsafeMutablePointer<Self>)
    /// From channel-major `z[c, n·P + p]` (a `C × (N·P)` GEMM result) to NCHW `y[n, c, p] = z[c, n·P + p] + b_c`
    /// (`bias` may be nil).
    static func channelMajorToBatch(_ z: UnsafePointer<Self>, bias: UnsafePointer<Self>?, into y: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int)
    /// From NCHW `g[n, c, p]` to channel-major `z[c, n·P + p]`.
    static func batchToChannelMajor(_ g: UnsafePointer<Self>, into z: UnsafeMutablePointer<Self>, batch: Int, channels: Int, spatial: Int)
    /// Depthwise convolution of one sample, directly (no im2col): `geometry.channels = C` planes,
    /// `M = multiplier` outputs per plane, output channel `o` reads plane `⌊o/M⌋`:
    /// `y[o, oh, ow] = b_o + Σ_{i<kh, j<kw} W[o, i, j] · x[⌊o/M⌋, oh·sh − top + i, ow·sw − left + j]`
    /// (0 outside the image). `W` is `(C·M) × (kh·kw)`, `bias` may be nil; `y` is overwritten.
    static func depthwiseForward(_ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, geometry: ConvolutionGeometry, multiplier: Int, into y: UnsafeMutablePointer<Self>)
    /// The backward pass of `depthwiseForward` for one sample: `∂W[o, i, j] += Σ_{oh,ow} g[o, oh, ow] · x[…]`
    /// (when `weightGradient` is non-nil) and `∂x[c, ih, iw] = Σ W[o, i, j] · g[o, oh, ow]` over the
    /// outputs that read it (overwritten, when `inputGradient` is non-nil).
    static func depthwiseBackward(_ gradient: UnsafePointer<Self>, input x: UnsafePointer<Self>, weight: UnsafePointer<Self>, geometry: ConvolutionGeometry, multiplier: Int, weightGradient: UnsafeMutablePointer<Self>?, inputGradient: UnsafeMutablePointer<Self>?)
}

extension ConvolutionKernels {
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

extension ConvolutionKernels {
    // Depthwise loops run row by row of the output: for output row `r`, every kernel tap
    // `(i, j)` adds `W[o, i, j]` times an input row segment to that row, which stays in L1;
    // the taps' valid column ranges are computed once per `j`.

    @inlinable
    public static func depthwiseForward(_ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, geometry g: ConvolutionGeometry, multiplier m: Int, into y: UnsafeMutablePointer<Self>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideHeight, sw = g.strideWidth
        let top = g.padding.top, left = g.padding.left
        let oh = g.outputHeight, ow = g.outputWidth, p = oh * ow, plane = g.height * g.width
        if g.isSameStrideOne && g.inputSpatial <= depthwisePlaneLimit {
            depthwiseSameForward(x, weight: weight, bias: bias, geometry: g, multiplier: m, into: y)
            return
        }
        // The valid output columns of each kernel column, computed once (no divisions in the loops).
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: kw) { columns in
        for j in 0..<kw { columns.initializeElement(at: j, to: g.validOutputColumns(kernelColumn: j)) }
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * plane
            let dst = y + o * p
            dst.update(repeating: bias?[o] ?? 0, count: p)
            let w = weight + o * kh * kw
            for r in 0..<oh {
                let drow = dst + r * ow
                for i in 0..<kh {
                    let ih = r * sh - top + i
                    if ih < 0 || ih >= g.height { continue }
                    for j in 0..<kw {
                        let valid = columns[j]
                        let srow = src + ih * g.width - left + j
                        let tap = w[i * kw + j]
                        if sw == 1 {
                            for q in valid { drow[q] = Relaxed.multiplyAdd(tap, srow[q], drow[q]) }
                        } else {
                            for q in valid { drow[q] = Relaxed.multiplyAdd(tap, srow[q &* sw], drow[q]) }
                        }
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
        if g.isSameStrideOne && g.inputSpatial <= depthwisePlaneLimit {
            depthwiseSameBackward(gradient, input: x, weight: weight, geometry: g, multiplier: m,
                                  weightGradient: weightGradient, inputGradient: inputGradient)
            return
        }
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: kw) { columns in
        for j in 0..<kw { columns.initializeElement(at: j, to: g.validOutputColumns(kernelColumn: j)) }
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * plane
            let gp = gradient + o * p
            let dxPlane = inputGradient.map { $0 + (o / m) * plane }
            let w = weight + o * kh * kw
            let dw = weightGradient.map { $0 + o * kh * kw }
            for r in 0..<oh {
                let grow = gp + r * ow
                for i in 0..<kh {
                    let ih = r * sh - top + i
                    if ih < 0 || ih >= g.height { continue }
                    for j in 0..<kw {
                        let valid = columns[j]
                        let offset = ih * g.width - left + j
                        if let dw {
                            let srow = src + offset
                            var acc: Self = 0
                            if sw == 1 {
                                for q in valid { acc = Relaxed.multiplyAdd(grow[q], srow[q], acc) }
                            } else {
                                for q in valid { acc = Relaxed.multiplyAdd(grow[q], srow[q &* sw], acc) }
                            }
                            dw[i * kw + j] += acc
                        }
                        if let dxPlane {
                            let drow = dxPlane + offset
                            let tap = w[i * kw + j]
                            if sw == 1 {
                                for q in valid { drow[q] = Relaxed.multiplyAdd(tap, grow[q], drow[q]) }
                            } else {
                                for q in valid { drow[q &* sw] = Relaxed.multiplyAdd(tap, grow[q], drow[q &* sw]) }
                            }
                        }
                    }
                }
            }
        }
        }
    }

    // Stride 1 with an output as large as the input ("same" padding): output plane position
    // `q = r·W + c` and tap `(i, j)` read input position `q + (i − top)·W + (j − left)`, so each tap
    // is one contiguous multiply-add over the rows whose input row exists (long loops even on
    // 7×7 planes). The contiguous range also covers a few border positions whose column wraps into
    // the neighbouring row; their contribution is subtracted again afterwards.

    /// The largest plane (`H·W` values, 32×32) run by the contiguous same-padding loops; larger
    /// planes go row by row, which keeps the output row in L1 (measured: 7×7 to 28×28 planes 1.2–1.9×
    /// faster contiguous than row by row, 56×56 the same, 112×112 1.5× slower).
    @inlinable static var depthwisePlaneLimit: Int { 1024 }

    /// The wrapped border positions of a tap: rows `rows` (already trimmed at the contiguous
    /// range's ends), columns `columns`.
    @inlinable @inline(__always)
    static func wrappedPositions(dx: Int, yLo: Int, yHi: Int, width w: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        if dx > 0 { return (yLo..<Swift.max(yLo, yHi - 1), (w - dx)..<w) }
        if dx < 0 { return (Swift.min(yLo + 1, yHi)..<yHi, 0..<(-dx)) }
        return (yLo..<yLo, 0..<0)
    }

    @inlinable
    static func depthwiseSameForward(_ x: UnsafePointer<Self>, weight: UnsafePointer<Self>, bias: UnsafePointer<Self>?, geometry g: ConvolutionGeometry, multiplier m: Int, into y: UnsafeMutablePointer<Self>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, top = g.padding.top, left = g.padding.left
        let h = g.height, w = g.width, p = h * w
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * p
            let dst = y + o * p
            dst.update(repeating: bias?[o] ?? 0, count: p)
            let taps = weight + o * kh * kw
            for i in 0..<kh {
                let dy = i - top
                let yLo = Swift.max(0, -dy), yHi = Swift.min(h, h - dy)
                guard yHi > yLo else { continue }
                for j in 0..<kw {
                    let dx = j - left
                    let t = taps[i * kw + j]
                    let from = src + dy * w + dx
                    let qLo = yLo * w + Swift.max(0, -dx), qHi = yHi * w - Swift.max(0, dx)
                    for q in qLo..<qHi { dst[q] = Relaxed.multiplyAdd(t, from[q], dst[q]) }
                    let wrapped = wrappedPositions(dx: dx, yLo: yLo, yHi: yHi, width: w)
                    for r in wrapped.rows {
                        for c in wrapped.columns { let q = r * w + c; dst[q] -= t * from[q] }
                    }
                }
            }
        }
    }

    @inlinable
    static func depthwiseSameBackward(_ gradient: UnsafePointer<Self>, input x: UnsafePointer<Self>, weight: UnsafePointer<Self>, geometry g: ConvolutionGeometry, multiplier m: Int, weightGradient: UnsafeMutablePointer<Self>?, inputGradient: UnsafeMutablePointer<Self>?) {
        let kh = g.kernelHeight, kw = g.kernelWidth, top = g.padding.top, left = g.padding.left
        let h = g.height, w = g.width, p = h * w
        for o in 0..<(g.channels * m) {
            let src = x + (o / m) * p
            let gp = gradient + o * p
            let dxPlane = inputGradient.map { $0 + (o / m) * p }
            let taps = weight + o * kh * kw
            let dw = weightGradient.map { $0 + o * kh * kw }
            for i in 0..<kh {
                let dy = i - top
                let yLo = Swift.max(0, -dy), yHi = Swift.min(h, h - dy)
                guard yHi > yLo else { continue }
                for j in 0..<kw {
                    let dx = j - left
                    let shift = dy * w + dx
                    let qLo = yLo * w + Swift.max(0, -dx), qHi = yHi * w - Swift.max(0, dx)
                    let wrapped = wrappedPositions(dx: dx, yLo: yLo, yHi: yHi, width: w)
                    if let dw {
                        let from = src + shift
                        var acc: Self = 0
                        for q in qLo..<qHi { acc = Relaxed.multiplyAdd(gp[q], from[q], acc) }
                        for r in wrapped.rows {
                            for c in wrapped.columns { let q = r * w + c; acc -= gp[q] * from[q] }
                        }
                        dw[i * kw + j] += acc
                    }
                    if let dxPlane {
                        let t = taps[i * kw + j]
                        let to = dxPlane + shift
                        for q in qLo..<qHi { to[q] = Relaxed.multiplyAdd(t, gp[q], to[q]) }
                        for r in wrapped.rows {
                            for c in wrapped.columns { let q = r * w + c; to[q] -= t * gp[q] }
                        }
                    }
                }
            }
        }
    }
}
