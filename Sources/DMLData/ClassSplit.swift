import Foundation

/// Which original class ids go to the training split of a dataset without an official split
/// (an image folder, `.npy` features, the IDX family); the other classes are the test split.
public enum ClassSplit: Equatable, Sendable, Codable, CustomStringConvertible {
    /// The first half of the sorted class ids (rounded up) train, the rest test.
    case firstHalf
    /// These ids train (a range like `0...4`).
    case range(ClosedRange<Int>)
    /// These ids train.
    case list([Int])

    /// Parses `first-half`, `LO-HI` (inclusive) or `a,b,c`; `source` names the option in errors.
    public static func parse(_ text: String, source: String = "--train-classes") throws -> ClassSplit {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "first-half" || t == "half" { return .firstHalf }
        let bounds = t.split(separator: "-", omittingEmptySubsequences: false)
        if bounds.count == 2, let lo = Int(bounds[0]), let hi = Int(bounds[1]) {
            guard lo <= hi else { throw DataError(file: source, "class range \(t) is empty (expected LO-HI with LO ≤ HI)") }
            return .range(lo...hi)
        }
        let parts = t.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let ids = parts.compactMap { Int($0) }
        guard !parts.isEmpty, ids.count == parts.count else {
            throw DataError(file: source, "cannot read '\(text)' as classes: expected first-half, LO-HI or a comma-separated list of ids")
        }
        return .list(ids)
    }

    /// Splits the distinct `ids` into (train, test) id sets; both must be non-empty.
    func partition(_ ids: some Sequence<Int>, source: String) throws -> (train: Set<Int>, test: Set<Int>) {
        let all = Set(ids).sorted()
        let train: Set<Int>
        switch self {
        case .firstHalf: train = Set(all.prefix((all.count + 1) / 2))
        case .range(let r): train = Set(all.filter { r.contains($0) })
        case .list(let l): train = Set(all).intersection(l)
        }
        let test = Set(all).subtracting(train)
        guard !train.isEmpty, !test.isEmpty else {
            throw DataError(file: source, "the class split \(self) leaves \(train.count) training and \(test.count) test classes out of \(all.count); both need at least one")
        }
        return (train, test)
    }

    /// `first-half`, `LO-HI` or `a,b,c`.
    public var description: String {
        switch self {
        case .firstHalf: "first-half"
        case .range(let r): "\(r.lowerBound)-\(r.upperBound)"
        case .list(let l): l.map(String.init).joined(separator: ",")
        }
    }
}

