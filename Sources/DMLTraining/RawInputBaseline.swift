import DMLNumerics
import DMLData
import DMLEvaluation

/// The reference every learned embedding must beat: the held-out split's raw inputs (pixels
/// or input features), flattened, scored with the same metric, Ks and clustering as the
/// embeddings. `Trainer` computes it once, before iteration 0.
///
/// Item `i` becomes the row `x_i` of its test-mode input (`AugmentationMode.test`: the same
/// resize, crop and normalization the network sees), in CHW order. Inputs larger than
/// `maximumDimension` values are block-averaged first: with the smallest integer factor `f`
/// such that `C · ⌈H/f⌉ · ⌈W/f⌉ ≤ maximumDimension`, output pixel `(c, u, v)` is the mean of
/// the input pixels `(c, y, x)` with `⌊y/f⌋ = u`, `⌊x/f⌋ = v` (a partial block at the edge
/// averages the pixels it has). Fashion-MNIST (784) and Omniglot (784) are never pooled; the
/// papers' 3 × 227 × 227 crops are pooled by 6 to 3 × 38 × 38. Feature vectors (`[d, 1, 1]`)
/// are used as they are whatever their size.
public enum RawInputBaseline {
    /// The default cap on values per item: 4,096 keeps the raw search within 8× the cost of a
    /// 512-d embedding's.
    public static let defaultMaximumDimension = 4096

    /// The block-averaging factor `f ≥ 1` of an input of `shape` (1 when it already fits, and
    /// for feature vectors).
    public static func poolingFactor(for shape: SampleShape, maximumDimension: Int = defaultMaximumDimension) -> Int {
        guard shape.height > 1 || shape.width > 1 else { return 1 }
        var f = 1
        while f < max(shape.height, shape.width) {
            let (h, w) = ((shape.height + f - 1) / f, (shape.width + f - 1) / f)
            let (product, overflow) = shape.channels.multipliedReportingOverflow(by: h * w)
            if !overflow && product <= maximumDimension { break }
            f += 1
        }
        return f
    }

    /// The `N × d` matrix of the split's flattened test-mode inputs, block-averaged by
    /// `poolingFactor(for:)`; items are read 256 at a time.
    public static func inputs(of split: any DatasetSplit, maximumDimension: Int = defaultMaximumDimension) throws -> Matrix<Float> {
        let shape = split.sampleShape
        let f = poolingFactor(for: shape, maximumDimension: maximumDimension)
        let (h, w) = ((shape.height + f - 1) / f, (shape.width + f - 1) / f)
        let inWidth = shape.count, outWidth = shape.channels * h * w
        var out = Matrix<Float>(rows: split.count, columns: outWidth)
        var start = 0
        while start < split.count {
            let indices = Array(start..<min(start + 256, split.count))
            let batch = try split.batch(indices, mode: .test)
            out.withUnsafeMutableBufferPointer { dst in
                batch.withUnsafeBufferPointer { src in
                    for r in 0..<indices.count {
                        let source = UnsafeBufferPointer(rebasing: src[(r * inWidth)..<((r + 1) * inWidth)])
                        let target = UnsafeMutableBufferPointer(rebasing: dst[((start + r) * outWidth)..<((start + r + 1) * outWidth)])
                        pool(source, shape: shape, factor: f, into: target)
                    }
                }
            }
            start += indices.count
        }
        return out
    }

    /// Block means of one CHW sample (a copy when `factor` is 1).
    static func pool(_ x: UnsafeBufferPointer<Float>, shape: SampleShape, factor f: Int, into out: UnsafeMutableBufferPointer<Float>) {
        if f == 1 {
            for k in 0..<x.count { out[k] = x[k] }
            return
        }
        let (h, w) = ((shape.height + f - 1) / f, (shape.width + f - 1) / f)
        for c in 0..<shape.channels {
            for u in 0..<h {
                for v in 0..<w {
                    var sum: Float = 0
                    var n = 0
                    for y in (u * f)..<min((u + 1) * f, shape.height) {
                        for x0 in (v * f)..<min((v + 1) * f, shape.width) {
                            sum += x[(c * shape.height + y) * shape.width + x0]
                            n += 1
                        }
                    }
                    out[(c * h + u) * w + v] = sum / Float(n)
                }
            }
        }
    }

    /// The evaluation of the split's raw inputs with `settings` (metric, Ks, clustering) and
    /// the k-means seed `seed`, exactly as `Trainer` scores embeddings.
    public static func evaluate(_ split: any DatasetSplit, settings: EvaluationSettings, seed: UInt64,
                                maximumDimension: Int = defaultMaximumDimension) throws -> EvaluationResult {
        let x = try inputs(of: split, maximumDimension: maximumDimension)
        var options = EvaluationOptions(metric: settings.metric, recallKs: settings.recallKs, clustering: settings.clustering)
        options.seed = seed
        return try DMLEvaluation.evaluate(embeddings: x, labels: split.labels, options: options)
    }
}
