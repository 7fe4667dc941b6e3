import DMLNumerics

/// The tile grid of Winograd's minimal filtering F(2×2, 3×3) for one ungrouped 3×3, stride-1
/// convolution of `C` planes of `H × W` with zero padding `top`/`left` (and whatever bottom/right
/// padding gives the output `OH × OW`).
///
/// Output tile `(ty, tx)` is the `2 × 2` block of output rows `2ty, 2ty + 1` and columns
/// `2tx, 2tx + 1`; it reads the `4 × 4` input patch of *frame* rows `2ty ..< 2ty + 4` and frame
/// columns `2tx ..< 2tx + 4`, where frame position `(r, q)` is input position
/// `(r − top, q − left)` (0 outside the image). There are `⌈OH/2⌉ × ⌈OW/2⌉` tiles per sample;
/// when `OH` or `OW` is odd the last tile row or column computes one row or column past the
/// output, on zeros, and that value is dropped.
///
/// In one *block* of tiles (`samples` consecutive samples, of each the tile rows `rows`; `T`
/// tiles in all), tile `t = (s·|rows| + ty − rows.lowerBound)·tilesWide + tx` of sample `s` of
/// the block. The transformed values are stored as 16 matrices, one per position `ξ = 4i + j` of
/// the 4×4 transformed tile: the input transform `V` as 16 matrices `C × T` (`v[ξ·S + c·T + t]`),
/// the products and the output gradient transform `M` as 16 matrices `O × T`, the weight
/// transform `U` as 16 matrices `O × C` (`u[ξ·S + o·C + c]`), `S = matrixStride(rows:columns:)`
/// apart, so that `M_ξ = U_ξ · V_ξ` is one GEMM per `ξ`.
public struct WinogradTiling: Hashable, Sendable {
    /// Input channels `C`.
    public let channels: Int
    /// Input height `H`.
    public let height: Int
    /// Input width `W`.
    public let width: Int
    /// Zero rows above the input.
    public let top: Int
    /// Zero columns left of the input.
    public let left: Int
    /// Output height `OH = H + top + bottom − 2`.
    public let outputHeight: Int
    /// Output width `OW = W + left + right − 2`.
    public let outputWidth: Int

    /// The tiling of `geometry`, which must satisfy `WinogradTiling.applies(to:)`.
    public init(_ geometry: ConvolutionGeometry) {
        precondition(Self.applies(to: geometry), "Winograd F(2×2, 3×3) needs a 3×3 stride-1 convolution")
        channels = geometry.channels
        height = geometry.height
        width = geometry.width
        top = geometry.padding.top
        left = geometry.padding.left
        outputHeight = geometry.outputHeight
        outputWidth = geometry.outputWidth
    }

    /// Whether F(2×2, 3×3) computes `geometry`: a 3×3 kernel, stride 1, a valid non-empty output.
    public static func applies(to geometry: ConvolutionGeometry) -> Bool {
        geometry.kernelHeight == 3 && geometry.kernelWidth == 3 && geometry.strideHeight == 1 && geometry.strideWidth == 1
            && geometry.isValid && geometry.outputHeight > 0 && geometry.outputWidth > 0
    }

    /// Tile rows `⌈OH/2⌉`.
    public var tilesHigh: Int { (outputHeight + 1) / 2 }
    /// Tile columns `⌈OW/2⌉`.
    public var tilesWide: Int { (outputWidth + 1) / 2 }
    /// Tiles per sample, `⌈OH/2⌉·⌈OW/2⌉`.
    public var tilesPerSample: Int { tilesHigh * tilesWide }
    /// The width of a frame row, `2·⌈OW/2⌉ + 2` (it covers `left + W` and every tile's columns).
    public var frameWidth: Int { 2 * tilesWide + 2 }
    /// The scratch elements the per-block transforms need: a frame of `2·rows + 2` rows.
    public func scratchCount(rows: Int) -> Int { (2 * rows + 2) * frameWidth }

    /// The distance between the starts of consecutive matrices `ξ` and `ξ + 1` of `rows × columns`
    /// each (`V`: `C × T`, `M`: `O × T`, `U`: `O × C`): `rows·columns + 16`, so that the 16
    /// values of one tile, written or read together, do not fall into the same cache set when
    /// `rows·columns` is a power of two (as 512·512).
    public static func matrixStride(rows: Int, columns: Int) -> Int { rows * columns + 16 }
}

/// The arithmetic of the Winograd transforms (additions and subtractions only), on one value
/// or on the lanes of a vector: the transforms are written once over a lane type, run on
/// `SIMD4` lanes for four tiles at a time and on scalars for the rest of a tile row, with the
/// same operations in the same order in both, so the results are bit-identical either way.
public protocol WinogradLane {
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static prefix func - (operand: Self) -> Self
}

extension Float: WinogradLane {}
extension Double: WinogradLane {}
extension SIMD4: WinogradLane where Scalar: FloatingPoint {}

/// The Winograd transforms' gather of tile columns, beside the unaligned loads and stores.
extension UnalignedVector {
    /// Columns `q, q + 1, q + 2, q + 3` of four consecutive tiles (tile `i` starting at column
    /// `q + 2i`) of one row: elements `q … q + 9`.
    @inlinable @inline(__always)
    static func tileColumns(_ row: UnsafePointer<Scalar>) -> (SIMD4<Scalar>, SIMD4<Scalar>, SIMD4<Scalar>, SIMD4<Scalar>) {
        let a = load8(row), b = load8(row + 2)
        return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
    }
}

/// The per-tile butterflies of F(2×2, 3×3), over any `WinogradLane`.
@usableFromInline
enum WinogradButterfly {
    /// `V = Bᵀ d B` of one 4×4 patch (rows `r0 … r3`, each columns 0…3), element `ξ = 4i + j`
    /// handed to `store(ξ, value)`.
    @inlinable @inline(__always)
    static func input<L: WinogradLane>(_ r0: (L, L, L, L), _ r1: (L, L, L, L), _ r2: (L, L, L, L), _ r3: (L, L, L, L),
                                       _ store: (Int, L) -> Void) {
        // Bᵀ d: rows d₀ − d₂, d₁ + d₂, d₂ − d₁, d₁ − d₃, column by column.
        let a0 = r0.0 - r2.0, a1 = r0.1 - r2.1, a2 = r0.2 - r2.2, a3 = r0.3 - r2.3
        let b0 = r1.0 + r2.0, b1 = r1.1 + r2.1, b2 = r1.2 + r2.2, b3 = r1.3 + r2.3
        let c0 = r2.0 - r1.0, c1 = r2.1 - r1.1, c2 = r2.2 - r1.2, c3 = r2.3 - r1.3
        let d0 = r1.0 - r3.0, d1 = r1.1 - r3.1, d2 = r1.2 - r3.2, d3 = r1.3 - r3.3
        // (Bᵀ d) B: the same combination of the columns.
        store(0, a0 - a2); store(1, a1 + a2); store(2, a2 - a1); store(3, a1 - a3)
        store(4, b0 - b2); store(5, b1 + b2); store(6, b2 - b1); store(7, b1 - b3)
        store(8, c0 - c2); store(9, c1 + c2); store(10, c2 - c1); store(11, c1 - c3)
        store(12, d0 - d2); store(13, d1 + d2); store(14, d2 - d1); store(15, d1 - d3)
    }

    /// `Y = Aᵀ M A + b` of one tile, `M_ξ = load(ξ)`: `(y₀₀, y₀₁, y₁₀, y₁₁)`.
    @inlinable @inline(__always)
    static func output<L: WinogradLane>(_ e: (Int) -> L, bias b: L) -> (L, L, L, L) {
        // Aᵀ M: rows m₀ + m₁ + m₂ and m₁ − m₂ − m₃, column by column; then · A.
        let s0 = e(0) + e(4) + e(8), s1 = e(1) + e(5) + e(9)
        let s2 = e(2) + e(6) + e(10), s3 = e(3) + e(7) + e(11)
        let u0 = e(4) - e(8) - e(12), u1 = e(5) - e(9) - e(13)
        let u2 = e(6) - e(10) - e(14), u3 = e(7) - e(11) - e(15)
        return (s0 + s1 + s2 + b, s1 - s2 - s3 + b, u0 + u1 + u2 + b, u1 - u2 - u3 + b)
    }

    /// `∂M = A ∂Y Aᵀ` of one tile's output gradient `(g₀₀, g₀₁, g₁₀, g₁₁)`, element `ξ`
    /// handed to `store(ξ, value)`.
    @inlinable @inline(__always)
    static func outputGradient<L: WinogradLane>(_ g00: L, _ g01: L, _ g10: L, _ g11: L, _ store: (Int, L) -> Void) {
        // A ∂Y: rows g₀, g₀ + g₁, g₀ − g₁, −g₁; then · Aᵀ the same on the columns.
        let a0 = g00, a1 = g01
        let b0 = g00 + g10, b1 = g01 + g11
        let c0 = g00 - g10, c1 = g01 - g11
        let d0 = -g10, d1 = -g11
        store(0, a0); store(1, a0 + a1); store(2, a0 - a1); store(3, -a1)
        store(4, b0); store(5, b0 + b1); store(6, b0 - b1); store(7, -b1)
        store(8, c0); store(9, c0 + c1); store(10, c0 - c1); store(11, -c1)
        store(12, d0); store(13, d0 + d1); store(14, d0 - d1); store(15, -d1)
    }
}

/// The transforms of Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016): one output tile `Y` (2×2) of a 3×3 filter `g` on a 4×4
/// input patch `d` is
///
/// `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`,
///
/// `Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]`,
/// `G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]`,
/// `Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]`,
///
/// 16 multiplications instead of 36. Summed over input channels, the 16 elementwise products
/// become 16 matrix products `M_ξ = U_ξ · V_ξ` (`U = G g Gᵀ` per filter, `V = Bᵀ d B` per
/// tile and channel). The backward pass is the exact adjoint of that computation:
/// `∂M = A ∂Y Aᵀ` per tile and output channel, `∂U_ξ = ∂M_ξ · V_ξᵀ`, `∂g = Gᵀ ∂U G`,
/// `∂V_ξ = U_ξᵀ · ∂M_ξ`, `∂d = B ∂V Bᵀ` added into the (overlapping) input patches.
///
/// Layouts as `WinogradTiling` describes. A part of `NetworkScalar` (see there why these are
/// protocol requirements); the default implementations below are specialized for `Float` and
/// `Double`, and run the input, output and output-gradient transforms four tiles at a time on
/// `SIMD4` lanes (`WinogradButterfly`).
public protocol WinogradKernels: BLASScalar, SIMDScalar, WinogradLane {
    /// `U = G g Gᵀ` for the filters `o ∈ outputs` (all `C` channels each): `weight` is the
    /// `O × C·9` weight matrix, `u[ξ·S + o·C + c]` is written.
    static func winogradWeightTransform(_ weight: UnsafePointer<Self>, outputs: Range<Int>, outputCount: Int, channels: Int,
                                        into u: UnsafeMutablePointer<Self>)
    /// `∂g += Gᵀ ∂U G` for the filters `o ∈ outputs`: `du[ξ·S + o·C + c]` in, the `O × C·9`
    /// weight gradient accumulated.
    static func winogradWeightGradient(_ du: UnsafePointer<Self>, outputs: Range<Int>, outputCount: Int, channels: Int,
                                       accumulatingInto weightGradient: UnsafeMutablePointer<Self>)
    /// `V = Bᵀ d B` of every tile and channel of a block: `x` is the block's first sample
    /// (`samples` samples of `C × H × W`), `v[ξ·S + c·T + t]` is written; `scratch` holds
    /// `tiling.scratchCount(rows: rows.count)` elements.
    static func winogradInputTransform(_ x: UnsafePointer<Self>, tiling: WinogradTiling, samples: Int, rows: Range<Int>,
                                       into v: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>)
    /// `Y = Aᵀ M A + b` of every tile and output channel of a block: `m[ξ·S + o·T + t]` in,
    /// the block's output rows written into `y`, the block's first sample (`O × OH × OW` each;
    /// `bias` may be nil).
    static func winogradOutputTransform(_ m: UnsafePointer<Self>, tiling: WinogradTiling, outputs: Int, samples: Int, rows: Range<Int>,
                                        bias: UnsafePointer<Self>?, into y: UnsafeMutablePointer<Self>)
    /// `∂M = A ∂Y Aᵀ` (the adjoint of the output transform, without the bias): `dy` is the
    /// output gradient of the block's first sample, `dm[ξ·S + o·T + t]` is written (the
    /// positions past an odd output count as 0).
    static func winogradOutputGradientTransform(_ dy: UnsafePointer<Self>, tiling: WinogradTiling, outputs: Int, samples: Int,
                                                rows: Range<Int>, into dm: UnsafeMutablePointer<Self>)
    /// `∂d = B ∂V Bᵀ` (the adjoint of the input transform): `dv[ξ·S + c·T + t]` in, each tile's
    /// 4×4 patch added into the input gradient `dx` of the block's first sample (the parts of a
    /// patch in the padding are dropped); `scratch` as for the input transform.
    static func winogradInputGradientTransform(_ dv: UnsafePointer<Self>, tiling: WinogradTiling, samples: Int, rows: Range<Int>,
                                               accumulatingInto dx: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>)
}

extension WinogradKernels {
    @inlinable
    public static func winogradWeightTransform(_ weight: UnsafePointer<Self>, outputs: Range<Int>, outputCount: Int, channels: Int,
                                               into u: UnsafeMutablePointer<Self>) {
        let stride = WinogradTiling.matrixStride(rows: outputCount, columns: channels)
        let half: Self = 0.5
        for o in outputs {
            for c in 0..<channels {
                let g = weight + (o * channels + c) * 9
                // G g (4 × 3), column k: g₀ₖ, ½(g₀ₖ + g₁ₖ + g₂ₖ), ½(g₀ₖ − g₁ₖ + g₂ₖ), g₂ₖ.
                let a0 = g[0], a1 = g[1], a2 = g[2]
                let b0 = half * (g[0] + g[3] + g[6]), b1 = half * (g[1] + g[4] + g[7]), b2 = half * (g[2] + g[5] + g[8])
                let c0 = half * (g[0] - g[3] + g[6]), c1 = half * (g[1] - g[4] + g[7]), c2 = half * (g[2] - g[5] + g[8])
                let d0 = g[6], d1 = g[7], d2 = g[8]
                // (G g) Gᵀ, row by row: [x₀, ½(x₀ + x₁ + x₂), ½(x₀ − x₁ + x₂), x₂].
                let e = u + o * channels + c
                e[0] = a0; e[stride] = half * (a0 + a1 + a2); e[2 * stride] = half * (a0 - a1 + a2); e[3 * stride] = a2
                e[4 * stride] = b0; e[5 * stride] = half * (b0 + b1 + b2); e[6 * stride] = half * (b0 - b1 + b2); e[7 * stride] = b2
                e[8 * stride] = c0; e[9 * stride] = half * (c0 + c1 + c2); e[10 * stride] = half * (c0 - c1 + c2); e[11 * stride] = c2
                e[12 * stride] = d0; e[13 * stride] = half * (d0 + d1 + d2); e[14 * stride] = half * (d0 - d1 + d2); e[15 * stride] = d2
            }
        }
    }

    @inlinable
    public static func winogradWeightGradient(_ du: UnsafePointer<Self>, outputs: Range<Int>, outputCount: Int, channels: Int,
                                              accumulatingInto weightGradient: UnsafeMutablePointer<Self>) {
        let stride = WinogradTiling.matrixStride(rows: outputCount, columns: channels)
        let half: Self = 0.5
        for o in outputs {
            for c in 0..<channels {
                let e = du + o * channels + c
                // ∂U G, row i (u₀ … u₃): [u₀ + ½(u₁ + u₂), ½(u₁ − u₂), ½(u₁ + u₂) + u₃].
                func row(_ i: Int) -> (Self, Self, Self) {
                    let u0 = e[(4 * i) * stride], u1 = e[(4 * i + 1) * stride], u2 = e[(4 * i + 2) * stride], u3 = e[(4 * i + 3) * stride]
                    let m = half * (u1 + u2)
                    return (u0 + m, half * (u1 - u2), m + u3)
                }
                let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
                // Gᵀ (∂U G): the same combination of the four rows, added to ∂g.
                let dg = weightGradient + (o * channels + c) * 9
                let m0 = half * (r1.0 + r2.0), m1 = half * (r1.1 + r2.1), m2 = half * (r1.2 + r2.2)
                dg[0] += r0.0 + m0; dg[1] += r0.1 + m1; dg[2] += r0.2 + m2
                dg[3] += half * (r1.0 - r2.0); dg[4] += half * (r1.1 - r2.1); dg[5] += half * (r1.2 - r2.2)
                dg[6] += m0 + r3.0; dg[7] += m1 + r3.1; dg[8] += m2 + r3.2
            }
        }
    }

    /// Copies frame rows `firstRow ..< firstRow + count` of input plane `plane` into `frame`
    /// (`frameWidth` per row), with zeros outside the image.
    @inlinable @inline(__always)
    static func winogradFillFrame(_ plane: UnsafePointer<Self>, tiling t: WinogradTiling, firstRow: Int, count: Int,
                                  into frame: UnsafeMutablePointer<Self>) {
        let fw = t.frameWidth, w = t.width, left = t.left, right = fw - left - w
        for r in 0..<count {
            let row = frame + r * fw
            let ih = firstRow + r - t.top
            if ih < 0 || ih >= t.height {
                for q in 0..<fw { row[q] = 0 }
                continue
            }
            for q in 0..<left { row[q] = 0 }
            let source = plane + ih * w
            let target = row + left
            for q in 0..<w { target[q] = source[q] }
            let tail = row + left + w
            for q in 0..<right { tail[q] = 0 }
        }
    }

    @inlinable
    public static func winogradInputTransform(_ x: UnsafePointer<Self>, tiling t: WinogradTiling, samples: Int, rows: Range<Int>,
                                              into v: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>) {
        let c = t.channels, tw = t.tilesWide, fw = t.frameWidth, plane = t.height * t.width
        let tileCount = samples * rows.count * tw
        let stride = WinogradTiling.matrixStride(rows: c, columns: tileCount)
        for s in 0..<samples {
            for channel in 0..<c {
                winogradFillFrame(x + (s * c + channel) * plane, tiling: t, firstRow: 2 * rows.lowerBound,
                                  count: 2 * rows.count + 2, into: scratch)
                for ty in rows {
                    let r0 = scratch + 2 * (ty - rows.lowerBound) * fw
                    let r1 = r0 + fw, r2 = r1 + fw, r3 = r2 + fw
                    let first = (s * rows.count + ty - rows.lowerBound) * tw
                    let out = v + channel * tileCount + first
                    var tx = 0
                    // Four tiles at a time while their columns (up to 2·tx + 9 < frameWidth) exist.
                    while tx + 4 <= tw {
                        let q = 2 * tx, o = out + tx
                        typealias Vector = UnalignedVector<Self>
                        WinogradButterfly.input(Vector.tileColumns(r0 + q), Vector.tileColumns(r1 + q),
                                                Vector.tileColumns(r2 + q), Vector.tileColumns(r3 + q)) { k, value in
                            Vector.store(value, o + k * stride)
                        }
                        tx += 4
                    }
                    while tx < tw {
                        let q = 2 * tx, o = out + tx
                        WinogradButterfly.input((r0[q], r0[q + 1], r0[q + 2], r0[q + 3]), (r1[q], r1[q + 1], r1[q + 2], r1[q + 3]),
                                                (r2[q], r2[q + 1], r2[q + 2], r2[q + 3]), (r3[q], r3[q + 1], r3[q + 2], r3[q + 3])) { k, value in
                            o[k * stride] = value
                        }
                        tx += 1
                    }
                }
            }
        }
    }

    @inlinable
    public static func winogradOutputTransform(_ m: UnsafePointer<Self>, tiling t: WinogradTiling, outputs: Int, samples: Int, rows: Range<Int>,
                                               bias: UnsafePointer<Self>?, into y: UnsafeMutablePointer<Self>) {
        let tw = t.tilesWide, oh = t.outputHeight, ow = t.outputWidth, p = oh * ow
        let tileCount = samples * rows.count * tw
        let stride = WinogradTiling.matrixStride(rows: outputs, columns: tileCount)
        let pairs = ow / 2   // tiles with both output columns
        for s in 0..<samples {
            for o in 0..<outputs {
                let b = bias?[o] ?? 0
                let plane = y + (s * outputs + o) * p
                for ty in rows {
                    let first = (s * rows.count + ty - rows.lowerBound) * tw
                    let src = m + o * tileCount + first
                    let row0 = plane + 2 * ty * ow
                    let hasSecondRow = 2 * ty + 1 < oh
                    let row1 = hasSecondRow ? row0 + ow : row0
                    var tx = 0
                    // Four tiles with both output columns at a time, interleaved into 8 columns.
                    while tx + 4 <= pairs {
                        let e = src + tx
                        typealias Vector = UnalignedVector<Self>
                        let (y00, y01, y10, y11) = WinogradButterfly.output({ Vector.load4(e + $0 * stride) }, bias: SIMD4(repeating: b))
                        let q = 2 * tx
                        var top = SIMD8<Self>(), bottom = SIMD8<Self>()
                        top.evenHalf = y00; top.oddHalf = y01
                        bottom.evenHalf = y10; bottom.oddHalf = y11
                        Vector.store(top, row0 + q)
                        if hasSecondRow { Vector.store(bottom, row1 + q) }
                        tx += 4
                    }
                    while tx < tw {
                        let e = src + tx
                        let (y00, y01, y10, y11) = WinogradButterfly.output({ e[$0 * stride] }, bias: b)
                        let q = 2 * tx
                        if tx < pairs {
                            row0[q] = y00; row0[q + 1] = y01
                            if hasSecondRow { row1[q] = y10; row1[q + 1] = y11 }
                        } else {
                            row0[q] = y00
                            if hasSecondRow { row1[q] = y10 }
                        }
                        tx += 1
                    }
                }
            }
        }
    }

    @inlinable
    public static func winogradOutputGradientTransform(_ dy: UnsafePointer<Self>, tiling t: WinogradTiling, outputs: Int, samples: Int,
                                                       rows: Range<Int>, into dm: UnsafeMutablePointer<Self>) {
        let tw = t.tilesWide, oh = t.outputHeight, ow = t.outputWidth, p = oh * ow
        let tileCount = samples * rows.count * tw
        let stride = WinogradTiling.matrixStride(rows: outputs, columns: tileCount)
        let pairs = ow / 2
        for s in 0..<samples {
            for o in 0..<outputs {
                let plane = dy + (s * outputs + o) * p
                for ty in rows {
                    let first = (s * rows.count + ty - rows.lowerBound) * tw
                    let out = dm + o * tileCount + first
                    let row0 = plane + 2 * ty * ow
                    let hasSecondRow = 2 * ty + 1 < oh
                    var tx = 0
                    // Four tiles with both rows and both columns at a time.
                    while hasSecondRow && tx + 4 <= pairs {
                        let q = 2 * tx, e = out + tx
                        typealias Vector = UnalignedVector<Self>
                        let top = Vector.load8(row0 + q), bottom = Vector.load8(row0 + ow + q)
                        WinogradButterfly.outputGradient(top.evenHalf, top.oddHalf, bottom.evenHalf, bottom.oddHalf) { k, value in
                            Vector.store(value, e + k * stride)
                        }
                        tx += 4
                    }
                    while tx < tw {
                        let q = 2 * tx, e = out + tx
                        let second = tx < pairs
                        let g00 = row0[q], g01 = second ? row0[q + 1] : 0
                        let g10 = hasSecondRow ? row0[ow + q] : 0
                        let g11 = hasSecondRow && second ? row0[ow + q + 1] : 0
                        WinogradButterfly.outputGradient(g00, g01, g10, g11) { k, value in e[k * stride] = value }
                        tx += 1
                    }
                }
            }
        }
    }

    @inlinable
    public static func winogradInputGradientTransform(_ dv: UnsafePointer<Self>, tiling t: WinogradTiling, samples: Int, rows: Range<Int>,
                                                      accumulatingInto dx: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>) {
        let c = t.channels, tw = t.tilesWide, fw = t.frameWidth, plane = t.height * t.width
        let tileCount = samples * rows.count * tw
        let stride = WinogradTiling.matrixStride(rows: c, columns: tileCount)
        let frameRows = 2 * rows.count + 2
        for s in 0..<samples {
            for channel in 0..<c {
                for q in 0..<(frameRows * fw) { scratch[q] = 0 }
                for ty in rows {
                    let r0 = scratch + 2 * (ty - rows.lowerBound) * fw
                    let r1 = r0 + fw, r2 = r1 + fw, r3 = r2 + fw
                    let first = (s * rows.count + ty - rows.lowerBound) * tw
                    let source = dv + channel * tileCount + first
                    for tx in 0..<tw {
                        let e = source + tx
                        // ∂V B (Bᵀ's columns): per row i, h_i = [v₀, v₁ − v₂ + v₃, −v₀ + v₁ + v₂, −v₃].
                        let v00 = e[0], v01 = e[stride], v02 = e[2 * stride], v03 = e[3 * stride]
                        let v10 = e[4 * stride], v11 = e[5 * stride], v12 = e[6 * stride], v13 = e[7 * stride]
                        let v20 = e[8 * stride], v21 = e[9 * stride], v22 = e[10 * stride], v23 = e[11 * stride]
                        let v30 = e[12 * stride], v31 = e[13 * stride], v32 = e[14 * stride], v33 = e[15 * stride]
                        let h00 = v00, h01 = v01 - v02 + v03, h02 = v01 + v02 - v00, h03 = -v03
                        let h10 = v10, h11 = v11 - v12 + v13, h12 = v11 + v12 - v10, h13 = -v13
                        let h20 = v20, h21 = v21 - v22 + v23, h22 = v21 + v22 - v20, h23 = -v23
                        let h30 = v30, h31 = v31 - v32 + v33, h32 = v31 + v32 - v30, h33 = -v33
                        // B (∂V B): frame rows h₀, h₁ − h₂ + h₃, −h₀ + h₁ + h₂, −h₃, added.
                        let q = 2 * tx
                        r0[q] += h00; r0[q + 1] += h01; r0[q + 2] += h02; r0[q + 3] += h03
                        r1[q] += h10 - h20 + h30; r1[q + 1] += h11 - h21 + h31
                        r1[q + 2] += h12 - h22 + h32; r1[q + 3] += h13 - h23 + h33
                        r2[q] += h10 + h20 - h00; r2[q + 1] += h11 + h21 - h01
                        r2[q + 2] += h12 + h22 - h02; r2[q + 3] += h13 + h23 - h03
                        r3[q] -= h30; r3[q + 1] -= h31; r3[q + 2] -= h32; r3[q + 3] -= h33
                    }
                }
                // The frame rows inside the image, interior columns, added into the plane.
                let target = dx + (s * c + channel) * plane
                let firstRow = 2 * rows.lowerBound
                for r in 0..<frameRows {
                    let ih = firstRow + r - t.top
                    if ih < 0 || ih >= t.height { continue }
                    let from = scratch + r * fw + t.left, to = target + ih * t.width
                    for q in 0..<t.width { to[q] += from[q] }
                }
            }
        }
    }
}
