/// A group of originals and the points synthesized from it: the unit of hard negative pair
/// mining (§5 of the spec).
///
/// With the pair axis (`SynthesisAxis.pair`, the papers' rule) a group is a generating positive
/// pair and its synthetic points; with the class-mean axis (`SynthesisAxis.classMean`) it is every
/// original of a class in the batch and the points synthesized around the class mean.
/// `members` lists indices into `AugmentedBatch.points` in ascending order: the originals, then
/// the group's synthetic points.
public struct SyntheticGroup: Sendable, Equatable {
    /// The generating positive pair (with the class-mean axis: the class's first two originals).
    public let pair: PositivePair
    /// The originals of the group, ascending (`pair.first, pair.second` for a pair group).
    public let originals: [Int]
    /// The originals, then the synthetic points of the group (ascending indices).
    public let members: [Int]

    /// The class of every member.
    public var label: Int { pair.label }

    /// A pair group: `pair` and its synthetic points `synthetic` (indices into the augmented set).
    public init(pair: PositivePair, synthetic: Range<Int>) {
        self.pair = pair
        self.originals = [pair.first, pair.second]
        self.members = [pair.first, pair.second] + Array(synthetic)
    }

    /// A class group: the class's originals (ascending, at least two) and its synthetic points.
    public init(classOriginals originals: [Int], label: Int, synthetic: Range<Int>) {
        precondition(originals.count >= 2, "a class group holds at least two originals")
        self.pair = PositivePair(originals[0], originals[1], label: label)
        self.originals = originals
        self.members = originals + Array(synthetic)
    }
}
