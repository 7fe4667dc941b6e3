import RealModule

extension NetworkScalar {
    @inlinable
    public static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>) {
        let count = Self(batch * spatial)
        for c in 0..<channels {
            var sum: Self = 0
            for n in 0..<batch {
                let p = x + (n * channels + c) * spatial
                for q in 0..<spatial { sum = Relaxed.sum(sum, p[q]) }
            }
            let mu = sum / count
            var squares: Self = 0
            for n in 0..<batch {
                let p = x + (n * channels + c) * spatial
                for q in 0..<spatial { let d = p[q] - mu; squares = Relaxed.multiplyAdd(d, d, squares) }
            }
            mean[c] = mu
            variance[c] = squares / count
        }
    }

    @inlinable
    public static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>) {
        for n in 0..<batch {
            for c in 0..<channels {
                let offset = (n * channels + c) * spatial
                let mu = mean[c], r = inverseStd[c], gm = gamma[c], bt = beta[c]
                let xp = x + offset, hp = normalized + offset, yp = y + offset
                for q in 0..<spatial {
                    let h = (xp[q] - mu) * r
                    hp[q] = h
                    yp[q] = gm * h + bt
                }
            }
        }
    }

    @inlinable
    public static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>) {
        let m = Self(batch * spatial)
        for c in 0..<channels {
            var sumG: Self = 0, sumGH: Self = 0
            for n in 0..<batch {
                let offset = (n * channels + c) * spatial
                let gp = g + offset, hp = normalized + offset
                for q in 0..<spatial {
                    sumG = Relaxed.sum(sumG, gp[q])
                    sumGH = Relaxed.multiplyAdd(gp[q], hp[q], sumGH)
                }
            }
            gammaGradient[c] += sumGH
            betaGradient[c] += sumG
            let scale = gamma[c] * inverseStd[c]
            let meanG = training ? sumG / m : 0
            let meanGH = training ? sumGH / m : 0
            for n in 0..<batch {
                let offset = (n * channels + c) * spatial
                let gp = g + offset, hp = normalized + offset, dp = dx + offset
                for q in 0..<spatial { dp[q] = scale * (gp[q] - meanG - hp[q] * meanGH) }
            }
        }
    }
}
