import DMLNumerics

/// The inverted-dropout mask. A part of `NetworkScalar` (see there why these are protocol
/// requirements); the default implementations below are specialized for `Float` and `Double`.
public protocol DropoutKernels: BLASScalar {
    /// An inverted-dropout mask: each entry is `1/(1 − p)` with probability `1 − p`, else 0.
    static func dropoutMask(into m: UnsafeMutablePointer<Self>, count: Int, dropProbability: Double, generator: inout SeededGenerator)
}

extension DropoutKernels {
    @inlinable
    public static func dropoutMask(into m: UnsafeMutablePointer<Self>, count: Int, dropProbability: Double, generator: inout SeededGenerator) {
        let scale = Self(1 / (1 - dropProbability))
        for i in 0..<count { m[i] = generator.nextUniform() < dropProbability ? 0 : scale }
    }
}
