import DMLNumerics
import RealModule

/// The batch-normalization kernels: per-channel batch statistics, the normalization and its
/// backward pass, each also for a range of channels (a worker's share of a split by channel). A
/// part of `NetworkScalar` (see there why these are protocol requirements); the default
/// implementations below are specialized for `Float` and `Double`.
public protocol BatchNormKernels: BLASScalar {
    /// Per-channel batch statistics over `N·P` values: `μ_c` and the biased variance `σ²_c`.
    static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)
    /// `channelStatistics` for the channels in `channelRange` only (a worker's share of a split
    /// by channel; a requirement so the concrete types' specialized code is called).
    static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)
    /// `x̂ = (x − μ_c)·r_c` and `y = γ_c x̂ + β_c`, with `r_c = 1/√(σ²_c + ε)`.
    static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>)
    /// `batchNormForward` for the channels in `channelRange` only.
    static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>)
    /// Batch-norm backward. `dγ_c += Σ g x̂`, `dβ_c += Σ g`; with batch statistics
    /// (`training`) `dx = γ_c r_c / M · (M g − Σ g − x̂ Σ g x̂)`, `M = N·P`; with fixed running
    /// statistics `dx = γ_c r_c g`.
    static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>)
    /// `batchNormBackward` for the channels in `channelRange` only.
    static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>)
    /// The two per-channel sums of the batch-norm backward pass for the channels in
    /// `channelRange`: `sumG[c] = Σ g`, `sumGH[c] = Σ g x̂` over this batch's `N·P` values
    /// (overwritten; synchronized batch normalization adds them over the replicas).
    static func batchNormGradientSums(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, sumG: UnsafeMutablePointer<Self>, sumGH: UnsafeMutablePointer<Self>)
    /// `dx = γ_c r_c (g − ḡ_c − x̂ h̄_c)` for the channels in `channelRange`, with the means over
    /// the whole batch `ḡ_c = Σ g / M` (`meanG`) and `h̄_c = Σ g x̂ / M` (`meanGH`).
    static func batchNormInputGradient(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, meanG: UnsafePointer<Self>, meanGH: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>)
}

extension BatchNormKernels {
    @inlinable
    public static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>) {
        channelStatistics(x, batch: batch, channels: channels, spatial: spatial, channelRange: 0..<channels, mean: mean, variance: variance)
    }

    /// `μ_c = (1/M) Σ x`, `σ²_c = (1/M) Σ (x − μ_c)²` over the `M = N·P` values of each channel
    /// `c` in `channelRange` of NCHW `x` (`mean[c]`, `variance[c]`; other channels untouched).
    /// Each channel's sums do not depend on the range, so splitting the channels over threads
    /// gives the same numbers.
    @inlinable
    public static func channelStatistics(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>,
                                         mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>) {
        let count = Self(batch * spatial)
        for c in channelRange {
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
        batchNormForward(x, batch: batch, channels: channels, spatial: spatial, channelRange: 0..<channels, mean: mean,
                         inverseStd: inverseStd, gamma: gamma, beta: beta, normalized: normalized, into: y)
    }

    /// `x̂ = (x − μ_c) r_c`, `y = γ_c x̂ + β_c` for the channels in `channelRange` of NCHW `x`
    /// (`normalized` and `y` written there only).
    @inlinable
    public static func batchNormForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>,
                                        mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>,
                                        beta: UnsafePointer<Self>, normalized: UnsafeMutablePointer<Self>, into y: UnsafeMutablePointer<Self>) {
        for n in 0..<batch {
            for c in channelRange {
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
        batchNormBackward(g, normalized: normalized, batch: batch, channels: channels, spatial: spatial, channelRange: 0..<channels,
                          gamma: gamma, inverseStd: inverseStd, training: training, into: dx,
                          gammaGradient: gammaGradient, betaGradient: betaGradient)
    }

    /// The batch-norm backward pass for the channels in `channelRange`: with batch statistics
    /// `∂x = γ_c r_c (g − Σg/M − x̂ Σ g x̂ / M)`, with fixed ones `∂x = γ_c r_c g`;
    /// `∂γ_c += Σ g x̂`, `∂β_c += Σ g` (every sum within one channel, so a split by channel
    /// needs no reduction across threads).
    @inlinable
    public static func batchNormBackward(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int,
                                         channelRange: Range<Int>, gamma: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>,
                                         training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>,
                                         betaGradient: UnsafeMutablePointer<Self>) {
        let m = Self(batch * spatial)
        for c in channelRange {
            // The two sums, then the input gradient, while the channel's values are in cache.
            let (sumG, sumGH) = batchNormGradientSums(g, normalized: normalized, batch: batch, channels: channels,
                                                      spatial: spatial, channel: c)
            gammaGradient[c] += sumGH
            betaGradient[c] += sumG
            batchNormInputGradient(g, normalized: normalized, batch: batch, channels: channels, spatial: spatial, channel: c,
                                   scale: gamma[c] * inverseStd[c], meanG: training ? sumG / m : 0,
                                   meanGH: training ? sumGH / m : 0, into: dx)
        }
    }

    /// `(Σ g, Σ g x̂)` over the `N·P` values of channel `c`, summed in sample-then-position order.
    @inlinable
    static func batchNormGradientSums(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int,
                                      spatial: Int, channel c: Int) -> (Self, Self) {
        var sumG: Self = 0, sumGH: Self = 0
        for n in 0..<batch {
            let offset = (n * channels + c) * spatial
            let gp = g + offset, hp = normalized + offset
            for q in 0..<spatial {
                sumG = Relaxed.sum(sumG, gp[q])
                sumGH = Relaxed.multiplyAdd(gp[q], hp[q], sumGH)
            }
        }
        return (sumG, sumGH)
    }

    /// `dx = scale · (g − ḡ − x̂ h̄)` over the `N·P` values of channel `c` (`scale = γ_c r_c`).
    @inlinable
    static func batchNormInputGradient(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int,
                                       spatial: Int, channel c: Int, scale: Self, meanG: Self, meanGH: Self,
                                       into dx: UnsafeMutablePointer<Self>) {
        for n in 0..<batch {
            let offset = (n * channels + c) * spatial
            let gp = g + offset, hp = normalized + offset, dp = dx + offset
            for q in 0..<spatial { dp[q] = scale * (gp[q] - meanG - hp[q] * meanGH) }
        }
    }

    /// `sumG[c] = Σ g`, `sumGH[c] = Σ g x̂` over the `N·P` values of each channel in
    /// `channelRange` (the sums `batchNormBackward` forms, in the same order).
    @inlinable
    public static func batchNormGradientSums(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int,
                                             spatial: Int, channelRange: Range<Int>, sumG: UnsafeMutablePointer<Self>,
                                             sumGH: UnsafeMutablePointer<Self>) {
        for c in channelRange {
            (sumG[c], sumGH[c]) = batchNormGradientSums(g, normalized: normalized, batch: batch, channels: channels,
                                                        spatial: spatial, channel: c)
        }
    }

    /// `dx = γ_c r_c (g − ḡ_c − x̂ h̄_c)` for the channels in `channelRange` (`dx` written there only).
    @inlinable
    public static func batchNormInputGradient(_ g: UnsafePointer<Self>, normalized: UnsafePointer<Self>, batch: Int, channels: Int,
                                              spatial: Int, channelRange: Range<Int>, gamma: UnsafePointer<Self>,
                                              inverseStd: UnsafePointer<Self>, meanG: UnsafePointer<Self>,
                                              meanGH: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>) {
        for c in channelRange {
            batchNormInputGradient(g, normalized: normalized, batch: batch, channels: channels, spatial: spatial, channel: c,
                                   scale: gamma[c] * inverseStd[c], meanG: meanG[c], meanGH: meanGH[c], into: dx)
        }
    }
}
