import DMLNumerics

/// Pair subsampling for large batches: each mining set keeps a random subset of `classes` of its
/// negative classes (all of them when there are fewer), and its HNPM terms run over those only.
///
/// **Rule.** Column `c` of the classes (batch and memory) is a negative class of set `s` when it
/// is not the set's own class *and* it is among the set's kept classes. Sets are drawn in order,
/// each by `m = min(classes, C − 1)` steps of a partial Fisher–Yates shuffle of the `C − 1`
/// negative columns, all from one `SeededGenerator(seed:)` stream (`next(upperBound:)`): the
/// same seed and batch give the same subsets. Each subset is uniform among the `m`-subsets.
/// Losses normalize by the number of terms they keep (contrastive: `1/Σ_s m_s` for the
/// negative mean); the softmax-like losses (lifted, N-pair, multi-similarity, angular) sum over
/// the kept classes.
///
/// **Cost.** The miner's per-point × class pass over the `A × (A + N)` matrix is unchanged; the
/// per-set × class pass shrinks from `Σ|s|·C` to `Σ|s|·m`, and the loss terms from `sets·C` to
/// `sets·m`.
public struct NegativeClassSampling: Codable, Equatable, Sendable {
    /// `m`, the number of negative classes kept per mining set (≥ 1).
    public var classes: Int
    /// The seed of the draw (the trainer mixes in the iteration, see `LossConfiguration`).
    public var seed: UInt64

    /// Keeps `classes` negative classes per set, drawn from `seed`.
    public init(classes: Int, seed: UInt64 = 0) {
        self.classes = classes
        self.seed = seed
    }

    /// The kept columns of every set, ascending, as CSR (`offsets` has `ownColumns.count + 1`
    /// entries): for set `s`, `columns[offsets[s]..<offsets[s + 1]]`, none equal to `ownColumns[s]`.
    func keptColumns(ownColumns: [Int], classCount: Int) -> (offsets: [Int], columns: [Int]) {
        let negatives = classCount - 1
        let m = Swift.max(0, Swift.min(classes, negatives))
        var generator = SeededGenerator(seed: seed)
        var permutation = Array(0..<classCount)
        var position = Array(0..<classCount)
        var offsets = [0]
        offsets.reserveCapacity(ownColumns.count + 1)
        var columns = [Int]()
        columns.reserveCapacity(ownColumns.count * m)
        var scratch = [Int](repeating: 0, count: m)
        func swapAt(_ a: Int, _ b: Int) {
            guard a != b else { return }
            let u = permutation[a], v = permutation[b]
            permutation[a] = v; permutation[b] = u
            position[v] = a; position[u] = b
        }
        for own in ownColumns {
            swapAt(position[own], negatives)  // the own class sits past the drawn range
            for k in 0..<m {
                let j = k + Int(generator.next(upperBound: UInt64(negatives - k)))
                swapAt(k, j)
                scratch[k] = permutation[k]
            }
            scratch.sort()
            columns.append(contentsOf: scratch)
            offsets.append(columns.count)
        }
        return (offsets, columns)
    }

    /// Throws `invalidOption` unless `classes ≥ 1`.
    func validate() throws {
        guard classes >= 1 else {
            throw MetricLearningError.invalidOption(name: "negativeClasses", value: "\(classes)",
                                                    expected: "0 (every negative class) or a positive number of classes per mining set")
        }
    }
}
