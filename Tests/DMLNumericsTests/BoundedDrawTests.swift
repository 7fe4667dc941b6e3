import Testing
@testable import DMLNumerics

/// `SeededGenerator.nextInt(below:)`: Lemire's method, written out so seeded streams do not
/// depend on the standard library.
@Suite struct BoundedDrawTests {
    @Test func nextIntMatchesLemiresMethodAndTheStandardLibrary() {
        // Bounds with tiny and large rejection zones (2^62 + 1 rejects about a quarter of the draws).
        for bound in [1, 2, 3, 6, 7, 10, 1000, 123_456_789, (1 << 62) + 1, Int.max] {
            var ours = SeededGenerator(seed: 5)
            var library = SeededGenerator(seed: 5)
            for _ in 0..<2000 {
                let a = ours.nextInt(below: bound)
                #expect((0..<bound).contains(a))
                #expect(a == Int.random(in: 0..<bound, using: &library), "bound \(bound)")
            }
            // Both consumed the same number of 64-bit draws.
            #expect(ours.next() == library.next())
        }
    }

    @Test func aRejectedDrawIsReplaced() {
        // n = 3·2^61: 2^64 mod n = 2^62, so a draw x is rejected when the low word of x·n is
        // below 2^62 (a quarter of the draws). Take a seed whose first draw is rejected and check
        // that the result comes from the first accepted draw, computed here by hand.
        let n = UInt64(3) << 61
        let threshold = (0 &- n) % n
        #expect(threshold == UInt64(1) << 62)
        func rejected(_ x: UInt64) -> Bool { x.multipliedFullWidth(by: n).low < threshold }
        let seed = (UInt64(0)..<1000).first { var g = SeededGenerator(seed: $0); return rejected(g.next()) }!
        var probe = SeededGenerator(seed: seed)
        var draws = [UInt64]()
        for _ in 0..<64 { draws.append(probe.next()) }
        let firstAccepted = draws.firstIndex { !rejected($0) }!
        #expect(firstAccepted >= 1)
        var generator = SeededGenerator(seed: seed)
        #expect(generator.nextInt(below: Int(n)) == Int(draws[firstAccepted].multipliedFullWidth(by: n).high))
        // It consumed exactly the draws up to the accepted one.
        #expect(generator.next() == draws[firstAccepted + 1])
    }

    @Test func drawsAreUniform() {
        var generator = SeededGenerator(seed: 1)
        var counts = [Int](repeating: 0, count: 6)
        let draws = 60_000
        for _ in 0..<draws { counts[generator.nextInt(below: 6)] += 1 }
        // Chi-square with 5 degrees of freedom: 20.5 is its 99.9th percentile.
        let expected = Double(draws) / 6
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chiSquare < 20.5, "\(counts)")
    }
}
