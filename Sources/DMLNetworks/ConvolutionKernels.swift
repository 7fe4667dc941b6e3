extension NetworkScalar {
    @inlinable
    public static func im2col(_ x: UnsafePointer<Self>, geometry g: ConvolutionGeometry, batch: Int, into col: UnsafeMutablePointer<Self>) {
        let k = g.kernel, s = g.stride, pad = g.padding
        let oh = g.outputHeight, ow = g.outputWidth, p = g.outputSpatial
        let plane = g.height * g.width
        let rowLength = batch * p
        for c in 0..<g.channels {
            for i in 0..<k {
                for j in 0..<k {
                    let r = (c * k + i) * k + j
                    let valid = g.validOutputColumns(kernelColumn: j)
                    let rowBase = col + r * rowLength
                    for n in 0..<batch {
                        let src = x + (n * g.channels + c) * plane
                        let dst = rowBase + n * p
                        for y in 0..<oh {
                            let d = dst + y * ow
                            let ih = y * s - pad + i
                            if ih < 0 || ih >= g.height {
                                d.update(repeating: 0, count: ow)
                                continue
                            }
                            let srow = src + ih * g.width - pad + j
                            for xo in 0..<valid.lowerBound { d[xo] = 0 }
                            if s == 1 {
                                (d + valid.lowerBound).update(from: srow + valid.lowerBound, count: valid.count)
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
        let k = g.kernel, s = g.stride, pad = g.padding
        let oh = g.outputHeight, ow = g.outputWidth, p = g.outputSpatial
        let plane = g.height * g.width
        let rowLength = batch * p
        dx.update(repeating: 0, count: batch * g.channels * plane)
        for c in 0..<g.channels {
            for i in 0..<k {
                for j in 0..<k {
                    let r = (c * k + i) * k + j
                    let valid = g.validOutputColumns(kernelColumn: j)
                    let rowBase = col + r * rowLength
                    for n in 0..<batch {
                        let dst = dx + (n * g.channels + c) * plane
                        let src = rowBase + n * p
                        for y in 0..<oh {
                            let ih = y * s - pad + i
                            if ih < 0 || ih >= g.height { continue }
                            let srow = src + y * ow
                            let drow = dst + ih * g.width - pad + j
                            for xo in valid { drow[xo * s] += srow[xo] }
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
}
