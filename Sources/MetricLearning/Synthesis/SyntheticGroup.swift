/// A generating positive pair and the points synthesized from it: the unit of hard negative
/// pair mining (§5 of the spec).
///
/// `members` lists indices into `AugmentedBatch.points` in ascending order: `pair.first`,
/// `pair.second` (originals, so below `originalCount`), then the pair's synthetic points.
public struct SyntheticGroup: Sendable, Equatable {
    /// The positive pair of originals that generated the group.
    public let pair: PositivePair
    /// `pair.first`, `pair.second`, then the synthetic points of the pair (ascending indices).
    public let members: [Int]

    /// A group for `pair` whose synthetic points are `synthetic` (indices into the augmented set).
    public init(pair: PositivePair, synthetic: Range<Int>) {
        self.pair = pair
        self.members = [pair.first, pair.second] + Array(synthetic)
    }
}
