import RealModule

extension NetworkScalar {
    @inlinable
    public static func maxPoolForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, argmax: UnsafeMutablePointer<Int32>, planes: Int, geometry g: PoolingGeometry) {
        let oh = g.outputHeight, ow = g.outputWidth, k = g.kernel, s = g.stride
        let inPlane = g.height * g.width, outPlane = oh * ow
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
