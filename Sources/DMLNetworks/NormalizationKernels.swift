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
    /// `y = f(γ_c (x − μ_c) r_c + β_c)` for the channels in `channelRange` (`f` the activation;
    /// `x̂` is not stored: the backward pass recomputes it from `x`).
    static func batchNormActivatedForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, function: ActivationFunction, into y: UnsafeMutablePointer<Self>)
    /// The backward pass of `y = f(BN(x))` for the channels in `channelRange`, with `x̂ = (x − μ_c) r_c`
    /// and `z = γ_c x̂ + β_c` recomputed from `x`: `g̃ = g · f′(z)` (ReLU `[z > 0]`, ReLU6
    /// `[0 < z < 6]`), `∂γ_c += Σ g̃ x̂`, `∂β_c += Σ g̃`, and with batch statistics (`training`)
    /// `∂x = γ_c r_c (g̃ − Σg̃/M − x̂ Σ g̃ x̂ / M)`, with fixed ones `∂x = γ_c r_c g̃`.
    static func batchNormActivatedBackward(_ g: UnsafePointer<Self>, input x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int, channelRange: Range<Int>, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, function: ActivationFunction, training: Bool, into dx: UnsafeMutablePointer<Self>, gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>)
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

    @inlinable
    public static func batchNormActivatedForward(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int,
                                                 channelRange: Range<Int>, mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>,
                                                 gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, function: ActivationFunction,
                                                 into y: UnsafeMutablePointer<Self>) {
        switch function {
        case .relu:
            activatedForward(x, batch: batch, channels: channels, spatial: spatial, channelRange: channelRange, mean: mean,
                             inverseStd: inverseStd, gamma: gamma, beta: beta, shape: RectifierShape.self, into: y)
        case .relu6:
            activatedForward(x, batch: batch, channels: channels, spatial: spatial, channelRange: channelRange, mean: mean,
                             inverseStd: inverseStd, gamma: gamma, beta: beta, shape: Rectifier6Shape.self, into: y)
        }
    }

    @inlinable
    public static func batchNormActivatedBackward(_ g: UnsafePointer<Self>, input x: UnsafePointer<Self>, batch: Int, channels: Int,
                                                  spatial: Int, channelRange: Range<Int>, mean: UnsafePointer<Self>,
                                                  inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>,
                                                  function: ActivationFunction, training: Bool, into dx: UnsafeMutablePointer<Self>,
                                                  gammaGradient: UnsafeMutablePointer<Self>, betaGradient: UnsafeMutablePointer<Self>) {
        switch function {
        case .relu:
            activatedBackward(g, input: x, batch: batch, channels: channels, spatial: spatial, channelRange: channelRange, mean: mean,
                              inverseStd: inverseStd, gamma: gamma, beta: beta, shape: RectifierShape.self, training: training,
                              into: dx, gammaGradient: gammaGradient, betaGradient: betaGradient)
        case .relu6:
            activatedBackward(g, input: x, batch: batch, channels: channels, spatial: spatial, channelRange: channelRange, mean: mean,
                              inverseStd: inverseStd, gamma: gamma, beta: beta, shape: Rectifier6Shape.self, training: training,
                              into: dx, gammaGradient: gammaGradient, betaGradient: betaGradient)
        }
    }

    /// `batchNormActivatedForward` for one activation (one loop each, so both vectorize).
    @inlinable
    static func activatedForward<F: RectifierShapeProtocol>(_ x: UnsafePointer<Self>, batch: Int, channels: Int, spatial: Int,
                                                            channelRange: Range<Int>, mean: UnsafePointer<Self>,
                                                            inverseStd: UnsafePointer<Self>, gamma: UnsafePointer<Self>,
                                                            beta: UnsafePointer<Self>, shape _: F.Type, into y: UnsafeMutablePointer<Self>) {
        for n in 0..<batch {
            for c in channelRange {
                let offset = (n * channels + c) * spatial
                let mu = mean[c], r = inverseStd[c], gm = gamma[c], bt = beta[c]
                let xp = x + offset, yp = y + offset
                // The same operations as `batchNormForward` and the activation layer, in that order.
                for q in 0..<spatial { yp[q] = F.apply(gm * ((xp[q] - mu) * r) + bt) }
            }
        }
    }

    /// `batchNormActivatedBackward` for one activation: per channel the two sums, then the input
    /// gradient while the channel's values are in cache.
    @inlinable
    static func activatedBackward<F: RectifierShapeProtocol>(_ g: UnsafePointer<Self>, input x: UnsafePointer<Self>, batch: Int,
                                                             channels: Int, spatial: Int, channelRange: Range<Int>,
                                                             mean: UnsafePointer<Self>, inverseStd: UnsafePointer<Self>,
                                                             gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, shape _: F.Type,
                                                             training: Bool, into dx: UnsafeMutablePointer<Self>,
                                                             gammaGradient: UnsafeMutablePointer<Self>,
                                                             betaGradient: UnsafeMutablePointer<Self>) {
        let m = Self(batch * spatial)
        for c in channelRange {
            let mu = mean[c], r = inverseStd[c], gm = gamma[c], bt = beta[c]
            var sumG: Self = 0, sumGH: Self = 0
            for n in 0..<batch {
                let offset = (n * channels + c) * spatial
                let gp = g + offset, xp = x + offset
                for q in 0..<spatial {
                    let h = (xp[q] - mu) * r
                    let gq = gp[q]
                    let masked = F.passes(gm * h + bt) ? gq : 0
                    sumG = Relaxed.sum(sumG, masked)
                    sumGH = Relaxed.multiplyAdd(masked, h, sumGH)
                }
            }
            gammaGradient[c] += sumGH
            betaGradient[c] += sumG
            let scale = gm * r, meanG = training ? sumG / m : 0, meanGH = training ? sumGH / m : 0
            for n in 0..<batch {
                let offset = (n * channels + c) * spatial
                let gp = g + offset, xp = x + offset, dp = dx + offset
                for q in 0..<spatial {
                    let h = (xp[q] - mu) * r
                    let gq = gp[q]
                    let masked = F.passes(gm * h + bt) ? gq : 0
                    dp[q] = scale * (masked - meanG - h * meanGH)
                }
            }
        }
    }
}

/// A rectifier the fused batch-norm kernels apply: its value and where its derivative is 1
/// (elsewhere 0, PyTorch's subgradient at the kinks). Generic parameters rather than a switch
/// in the inner loop, so each loop vectorizes.
public protocol RectifierShapeProtocol {
    /// `f(z)`, computed as the activation layers compute it.
    static func apply<T: FloatingPoint>(_ z: T) -> T
    /// Whether `f′(z) = 1`, i.e. whether the activation layer's backward pass, which tests its
    /// output `f(z)`, lets the gradient through.
    static func passes<T: FloatingPoint>(_ z: T) -> Bool
}

/// ReLU: `f(z) = max(z, 0)`, `f′(z) = [z > 0]` (`ReLU.backward` tests `y > 0`, and `y > 0` exactly when `z > 0`).
public enum RectifierShape: RectifierShapeProtocol {
    @inlinable @inline(__always) public static func apply<T: FloatingPoint>(_ z: T) -> T { z > 0 ? z : 0 }
    @inlinable @inline(__always) public static func passes<T: FloatingPoint>(_ z: T) -> Bool { z > 0 }
}

/// ReLU6: `f(z) = min(max(z, 0), 6)`, `f′(z) = [0 < z < 6]` (the activation layer tests `0 < y < 6`).
public enum Rectifier6Shape: RectifierShapeProtocol {
    @inlinable @inline(__always) public static func apply<T: FloatingPoint>(_ z: T) -> T {
        let lower = z > 0 ? z : 0
        return lower < 6 ? lower : 6
    }
    @inlinable @inline(__always) public static func passes<T: FloatingPoint>(_ z: T) -> Bool { z > 0 && z < 6 }
}
