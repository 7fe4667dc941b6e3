import RealModule

extension NetworkScalar {
    @inlinable
    public static func maxPoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry g: PoolingGeometry) {
        let oh = g.outputHeight, ow = g.outputWidth, k = g.kernel, s = g.stride
        let inPlane = g.height * g.width, outPlane = oh * ow
        if k == 2 && s == 2 {
            maxPool2x2Forward(x, into: y, argmax: argmax, planes: planes, geometry: g)
            return
        }
        for plane in 0..<planes {
            let src = x + plane * inPlane
            let dst = y + plane * outPlane
            let arg = argmax + plane * outPlane
            for r in 0..<oh {
                for c in 0..<ow {
                    var best = r * s * g.width + c * s
                    var bestValue = src[best]
                    for i in 0..<k {
                        let rowStart = (r * s + i) * g.width + c * s
                        for j in 0..<k where src[rowStart + j] > bestValue {
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

    @inlinable
    public static func averagePoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, planes: Int, geometry g: PoolingGeometry) {
        let oh = g.outputHeight, ow = g.outputWidth, k = g.kernel, s = g.stride
        let inPlane = g.height * g.width, outPlane = oh * ow
        let scale = 1 / Self(k * k)
        for plane in 0..<planes {
            let src = x + plane * inPlane
            let dst = y + plane * outPlane
            for r in 0..<oh {
                for c in 0..<ow {
                    var sum: Self = 0
                    for i in 0..<k {
                        let rowStart = (r * s + i) * g.width + c * s
                        for j in 0..<k { sum += src[rowStart + j] }
                    }
                    dst[r * ow + c] = sum * scale
                }
            }
        }
    }

    @inlinable
    public static func averagePoolBackward(_ g: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, planes: Int, geometry: PoolingGeometry) {
        let oh = geometry.outputHeight, ow = geometry.outputWidth, k = geometry.kernel, s = geometry.stride
        let inPlane = geometry.height * geometry.width, outPlane = oh * ow
        let scale = 1 / Self(k * k)
        dx.update(repeating: 0, count: planes * inPlane)
        for plane in 0..<planes {
            let src = g + plane * outPlane
            let dst = dx + plane * inPlane
            for r in 0..<oh {
                for c in 0..<ow {
                    let v = src[r * ow + c] * scale
                    for i in 0..<k {
                        let rowStart = (r * s + i) * geometry.width + c * s
                        for j in 0..<k { dst[rowStart + j] += v }
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
