import RealModule

/// A seeded, reproducible random number generator: xoshiro256** (Blackman & Vigna) with its
/// state filled from the seed by SplitMix64.
///
/// A value type: copying it forks the stream, so a component that owns one has no hidden
/// shared state. The same seed gives the same sequence on every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    private var s0, s1, s2, s3: UInt64

    /// A generator whose whole state is derived from `seed`.
    public init(seed: UInt64) {
        var sm = seed
        s0 = Self.splitMix64(&sm); s1 = Self.splitMix64(&sm); s2 = Self.splitMix64(&sm); s3 = Self.splitMix64(&sm)
    }

    /// One step of SplitMix64 (Vigna): `state += 0x9E3779B97F4A7C15`, then the output
    /// `z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9`, `z ← (z ⊕ z≫27)·0x94D049BB133111EB`, `z ⊕ z≫31`.
    static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A generator for an independent sub-stream `stream` of `seed` (for example one per
    /// worker thread, or one per purpose: initialization, sampling, augmentation).
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) &+ stream)
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        nextState()
    }

    @usableFromInline
    mutating func nextState() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform value in `[0, 1)` with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal value (Box–Muller transform).
    public mutating func nextNormal() -> Double {
        var u1 = nextUniform()
        while u1 <= Double.leastNormalMagnitude { u1 = nextUniform() }
        let u2 = nextUniform()
        return Double.sqrt(-2 * Double.log(u1)) * Double.cos(2 * Double.pi * u2)
    }

    /// A uniform integer in `0..<upperBound` (`upperBound ≥ 1`), by Lemire's nearly divisionless
    /// method (D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019):
    /// with `n = upperBound` and `x` a 64-bit draw, `m = x · n` as a 128-bit product; the draw
    /// is rejected while the low word of `m` is below `2⁶⁴ mod n` (so every value keeps exactly
    /// `⌊2⁶⁴ / n⌋` accepted draws: no bias), and the high word of `m` is the result.
    ///
    /// Written here rather than taken from `Int.random(in:using:)` so the streams of seeded runs
    /// do not depend on the standard library's version (its algorithm is not specified). On
    /// Swift 6.3 it draws the same values as `Int.random(in:using:)`, so no seeded result changed
    /// (checked by `nextIntMatchesLemiresMethodAndTheStandardLibrary`).
    public mutating func nextInt(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "nextInt(below:) needs a positive bound")
        let n = UInt64(upperBound)
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n   // 2⁶⁴ mod n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return Int(m.high)
    }

    /// A `rows × columns` matrix of independent `N(mean, std²)` values.
    public mutating func normalMatrix<T: BLASScalar>(
        rows: Int, columns: Int, mean: Double = 0, std: Double = 1, as _: T.Type = T.self
    ) -> Matrix<T> {
        var elements = [T]()
        elements.reserveCapacity(rows * columns)
        for _ in 0..<(rows * columns) { elements.append(T(mean + std * nextNormal())) }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// A `rows × columns` matrix of independent values uniform in `[low, high)`.
    public mutating func uniformMatrix<T: BLASScalar>(
        rows: Int, columns: Int, low: Double = 0, high: Double = 1, as _: T.Type = T.self
    ) -> Matrix<T> {
        var elements = [T]()
        elements.reserveCapacity(rows * columns)
        for _ in 0..<(rows * columns) { elements.append(T(low + (high - low) * nextUniform())) }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// The elements of `values` in a random order (Fisher–Yates, from the last index down).
    /// Written out rather than `Array.shuffled(using:)` so the order is fixed by this code,
    /// not by the standard library's version.
    public mutating func shuffled<C: Collection>(_ values: C) -> [C.Element] {
        var a = Array(values)
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
        return a
    }
}
