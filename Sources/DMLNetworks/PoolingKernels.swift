import DMLNumerics
import RealModule

/// The pooling kernels: max and average pooling over windows, and plane means (global average
/// pooling). A part of `NetworkScalar` (see there why these are protocol requirements); the default
/// implementations below are specialized for `Float` and `Double`.
public protocol PoolingKernels: BLASScalar {
    /// Max pooling over `planes = N·C` planes of `H × W` (see `PoolingGeometry`): `y = max` over
    /// the window clipped to the image (padding never wins), `argmax` the in-plane index of the
    /// first maximum in row-major window order.
    static func maxPoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry: PoolingGeometry)
    /// The values of `maxPoolForward` without the positions (an evaluation-mode pass that no
    /// backward pass follows): per output row, the elementwise maximum of the window's input rows
    /// (vectorizable), then the maximum over each window's columns; `scratch` holds `2·W` values.
    static func maxPoolValues(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry,
                              scratch: UnsafeMutablePointer<Self>)
    /// `dx[argmax] += g` per output (`dx` is overwritten first).
    static func maxPoolBackward(_ g: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry)
    /// Average pooling: `y = (1/D) Σ` over the window clipped to the image, with `D` the window
    /// size clipped to the padded input when `countIncludesPadding` (PyTorch's default), else the
    /// number of image values in the window.
    static func averagePoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry, countIncludesPadding: Bool)
    /// `dx += g / D` over each clipped window (`dx` is overwritten first).
    static func averagePoolBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry, countIncludesPadding: Bool)
    /// `y_q = (1/P) Σ_{i<P} x[q·P + i]` for each of `planes` contiguous planes of `P = spatial` values.
    static func planeMeans(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, spatial: Int)
    /// `dx[q·P + i] = g_q / P`, the adjoint of `planeMeans`.
    static func planeMeansBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, spatial: Int)
}

extension PoolingKernels {
    @inlinable
    public static func maxPoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry g: PoolingGeometry) {
        let oh = g.outputHeight, ow = g.outputWidth, kh = g.kernelHeight, kw = g.kernelWidth
        let sh = g.strideHeight, sw = g.strideWidth, top = g.padding.top, left = g.padding.left
        let h = g.height, w = g.width
        let inPlane = h * w, outPlane = oh * ow
        if kh == 2 && kw == 2 && sh == 2 && sw == 2 && g.hasFullWindows {
            maxPool2x2Forward(x, into: y, argmax: argmax, planes: planes, geometry: g)
            return
        }
        for plane in 0..<planes {
            let src = x + plane * inPlane
            let dst = y + plane * outPlane
            let arg = argmax + plane * outPlane
            for r in 0..<oh {
                let h0 = r * sh - top
                let hs = Swift.max(h0, 0), he = Swift.min(h0 + kh, h)
                for c in 0..<ow {
                    let w0 = c * sw - left
                    let ws = Swift.max(w0, 0), we = Swift.min(w0 + kw, w)
                    var best = hs * w + ws
                    var bestValue = src[best]
                    for i in hs..<he {
                        let rowStart = i * w
                        for j in ws..<we where src[rowStart + j] > bestValue {
                            bestValue = src[rowStart + j]
                            best = rowStart + j
                        }
                    }
                    dst[r * ow + c] = bestValue
                    arg[r * ow + c] = Int32(best)
                }
            }
        }
    }

    @inlinable
    public static func maxPoolValues(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry g: PoolingGeometry,
                                     scratch: UnsafeMutablePointer<Self>) {
        let oh = g.outputHeight, ow = g.outputWidth, kh = g.kernelHeight, kw = g.kernelWidth
        let sh = g.strideHeight, sw = g.strideWidth, top = g.padding.top, left = g.padding.left
        let h = g.height, w = g.width
        let inPlane = h * w, outPlane = oh * ow
        var rows = (scratch, scratch + w)
        for plane in 0..<planes {
            let src = x + plane * inPlane, dst = y + plane * outPlane
            for r in 0..<oh {
                let h0 = r * sh - top
                let hs = Swift.max(h0, 0), he = Swift.min(h0 + kh, h)
                // The column maxima of the window's rows, out of place (an in-place select
                // compiles to a branch).
                var column = UnsafePointer(src + hs * w)
                for i in (hs + 1)..<Swift.max(he, hs + 1) {
                    let next = src + i * w, out = rows.0
                    for j in 0..<w { let a = column[j], b = next[j]; out[j] = b > a ? b : a }
                    column = UnsafePointer(out)
                    rows = (rows.1, rows.0)
                }
                let out = dst + r * ow
                for c in 0..<ow {
                    let w0 = c * sw - left
                    let ws = Swift.max(w0, 0), we = Swift.min(w0 + kw, w)
                    var best = column[ws]
                    for j in (ws + 1)..<Swift.max(we, ws + 1) { let v = column[j]; best = v > best ? v : best }
                    out[c] = best
                }
            }
        }
    }

    /// The common 2×2, stride-2 window without branches: all four values are loaded and the
    /// maximum and its index chosen by selects (ties keep the first in row-major order, as the
    /// general loop does).
    @inlinable
    static func maxPool2x2Forward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry g: PoolingGeometry) {
        let oh = g.outputHeight, ow = g.outputWidth, w = g.width
        let inPlane = g.height * w, outPlane = oh * ow
        for plane in 0..<planes {
            let src = x + plane * inPlane
            let dst = y + plane * outPlane
            let arg = argmax + plane * outPlane
            for r in 0..<oh {
                let top = src + 2 * r * w, bottom = top + w
                let outRow = dst + r * ow, argRow = arg + r * ow
                for c in 0..<ow {
                    let a = top[2 &* c], b = top[2 &* c &+ 1], d = bottom[2 &* c], e = bottom[2 &* c &+ 1]
                    // Offsets within the window: 0, 1 (top row), w, w + 1 (bottom row). The index
                    // is computed with 0/1 indicators and arithmetic, not selects: LLVM turns
                    // selects inside loops back into branches, which mispredict on ReLU outputs.
                    let upper = b > a ? b : a, upperOffset = indicator(b > a)
                    let lower = e > d ? e : d, lowerOffset = w &+ indicator(e > d)
                    let lowerWins = indicator(lower > upper)
                    outRow[c] = lower > upper ? lower : upper
                    let offset = upperOffset &+ lowerWins &* (lowerOffset &- upperOffset)
                    argRow[c] = Int32(truncatingIfNeeded: 2 &* r &* w &+ 2 &* c &+ offset)
                }
            }
        }
    }

    @inlinable
    public static func maxPoolBackward(_ g: UnsafePointer<Self>, argmax: UnsafePointer<Int32>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry) {
        let inPlane = geometry.height * geometry.width
        let outPlane = geometry.outputHeight * geometry.outputWidth
        dx.update(repeating: 0, count: planes * inPlane)
        for plane in 0..<planes {
            let dst = dx + plane * inPlane
            let src = g + plane * outPlane
            let arg = argmax + plane * outPlane
            for q in 0..<outPlane { dst[Int(arg[q])] += src[q] }
        }
    }

    /// The divisor of the window starting at `(h0, w0)` (padded coordinates shifted by the
    /// top/left padding, so `h0` may be negative) and its clipped row and column ranges.
    @inlinable @inline(__always)
    static func averagePoolWindow(_ g: PoolingGeometry, h0: Int, w0: Int, countIncludesPadding: Bool) -> (divisor: Self, rows: Range<Int>, columns: Range<Int>) {
        let hePadded = Swift.min(h0 + g.kernelHeight, g.height + g.padding.bottom)
        let wePadded = Swift.min(w0 + g.kernelWidth, g.width + g.padding.right)
        let hs = Swift.max(h0, 0), he = Swift.min(hePadded, g.height)
        let ws = Swift.max(w0, 0), we = Swift.min(wePadded, g.width)
        let count = countIncludesPadding ? (hePadded - h0) * (wePadded - w0) : (he - hs) * (we - ws)
        return (Self(count), hs..<he, ws..<we)
    }

    @inlinable
    public static func averagePoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry g: PoolingGeometry, countIncludesPadding: Bool) {
        let oh = g.outputHeight, ow = g.outputWidth, sh = g.strideHeight, sw = g.strideWidth
        let top = g.padding.top, left = g.padding.left, w = g.width
        let inPlane = g.height * w, outPlane = oh * ow
        for plane in 0..<planes {
            let src = x + plane * inPlane
            let dst = y + plane * outPlane
            for r in 0..<oh {
                for c in 0..<ow {
                    let window = averagePoolWindow(g, h0: r * sh - top, w0: c * sw - left, countIncludesPadding: countIncludesPadding)
                    var sum: Self = 0
                    for i in window.rows {
                        let row = src + i * w
                        for j in window.columns { sum += row[j] }
                    }
                    dst[r * ow + c] = sum / window.divisor
                }
            }
        }
    }

    @inlinable
    public static func averagePoolBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry, countIncludesPadding: Bool) {
        let oh = geometry.outputHeight, ow = geometry.outputWidth, sh = geometry.strideHeight, sw = geometry.strideWidth
        let top = geometry.padding.top, left = geometry.padding.left, w = geometry.width
        let inPlane = geometry.height * w, outPlane = oh * ow
        dx.update(repeating: 0, count: planes * inPlane)
        for plane in 0..<planes {
            let src = g + plane * outPlane
            let dst = dx + plane * inPlane
            for r in 0..<oh {
                for c in 0..<ow {
                    let window = averagePoolWindow(geometry, h0: r * sh - top, w0: c * sw - left, countIncludesPadding: countIncludesPadding)
                    let v = src[r * ow + c] / window.divisor
                    for i in window.rows {
                        let row = dst + i * w
                        for j in window.columns { row[j] += v }
                    }
                }
            }
        }
    }

    @inlinable
    public static func planeMeans(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, spatial: Int) {
        let scale = 1 / Self(spatial)
        for q in 0..<planes {
            let p = x + q * spatial
            var s: Self = 0
            for i in 0..<spatial { s = Relaxed.sum(s, p[i]) }
            y[q] = s * scale
        }
    }

    @inlinable
    public static func planeMeansBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, spatial: Int) {
        let scale = 1 / Self(spatial)
        for q in 0..<planes {
            (dx + q * spatial).update(repeating: g[q] * scale, count: spatial)
        }
    }
}

/// 1 when `condition` holds, else 0 (a flag-to-integer move, no branch).
@inlinable @inline(__always)
func indicator(_ condition: Bool) -> Int {
    Int(unsafeBitCast(condition, to: UInt8.self))
}
