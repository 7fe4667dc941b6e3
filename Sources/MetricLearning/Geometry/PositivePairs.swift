/// Which positive pairs of a batch generate N-pair/angular terms and synthetic points.
public enum PairingRule: String, Sendable, Codable, CaseIterable {
    /// Samples `2t` and `2t+1` of each class, counted in batch order (the official Embedding
    /// Expansion code and the N-pair construction). A class with an odd count leaves its last
    /// sample unpaired.
    case adjacent
    /// Every unordered positive pair `(i, j)`, `i < j`, `y_i = y_j`.
    case all
}

/// An unordered positive pair of batch indices, `first < second` in batch order for `all`,
/// `(2t, 2t+1)` of a class for `adjacent`.
public struct PositivePair: Sendable, Hashable, Codable {
    /// The first sample (the anchor in N-pair and angular terms).
    public let first: Int
    /// The second sample (the positive).
    public let second: Int
    /// Their common class.
    public let label: Int

    /// A pair of samples of class `label`.
    public init(_ first: Int, _ second: Int, label: Int) {
        self.first = first
        self.second = second
        self.label = label
    }
}

/// Positive pairs of a labelled batch.
public enum PositivePairs {
    /// The positive pairs of `labels` under `rule`, ordered by first index, then second.
    public static func make(labels: [Int], rule: PairingRule) -> [PositivePair] {
        var pairs = [PositivePair]()
        switch rule {
        case .all:
            for i in 0..<labels.count {
                for j in (i + 1)..<max(labels.count, i + 1) where labels[j] == labels[i] {
                    pairs.append(PositivePair(i, j, label: labels[i]))
                }
            }
        case .adjacent:
            var pending = [Int: Int]()  // class -> sample waiting for its partner
            for (i, y) in labels.enumerated() {
                if let first = pending.removeValue(forKey: y) {
                    pairs.append(PositivePair(first, i, label: y))
                } else {
                    pending[y] = i
                }
            }
            pairs.sort { ($0.first, $0.second) < ($1.first, $1.second) }
        }
        return pairs
    }
}
