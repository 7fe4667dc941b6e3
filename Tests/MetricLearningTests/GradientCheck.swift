import DMLNumerics
import Testing
import DMLTestSupport

/// Finite-difference checks that also show the point is away from hinge kinks and arg-min
/// switches: along a few random directions, the central difference must agree at two step
/// sizes 100× apart (a kink within reach of the steps would make them differ).
enum GradientCheck {
    /// The worst error of `analytic` against central differences (step 1e-6) in every
    /// coordinate, and the worst disagreement of the directional central differences at steps
    /// 1e-4 and 1e-6 along three seeded random unit directions.
    static func errors(
        of f: (Matrix<Double>) -> Double, analytic: Matrix<Double>, at x: Matrix<Double>
    ) -> (gradient: Double, stability: Double) {
        let fine = FiniteDifference.gradient(of: f, at: x, step: 1e-6)
        var rng = SeededGenerator(seed: 99)
        var stability = 0.0
        for _ in 0..<3 {
            let gaussian: Matrix<Double> = rng.normalMatrix(rows: x.rows, columns: x.columns)
            let v = (1 / gaussian.elements.reduce(0) { $0 + $1 * $1 }.squareRoot()) * gaussian  // unit length
            func slope(_ h: Double) -> Double {
                var plus = x, minus = x
                plus.add(v, scaledBy: h)
                minus.add(v, scaledBy: -h)
                return (f(plus) - f(minus)) / (2 * h)
            }
            let coarse = slope(1e-4), close = slope(1e-6)
            stability = max(stability, abs(coarse - close) / max(1, abs(close)))
        }
        return (FiniteDifference.worstError(analytic: analytic, numeric: fine), stability)
    }
}

/// The layouts the gradient tests run on: C classes × K samples, raw or L2-normalized.
struct TestBatch: CustomTestStringConvertible, Sendable {
    let classes: Int
    let perClass: Int
    let normalized: Bool
    let seed: UInt64

    /// The batch (dimension 4).
    var data: (embeddings: Matrix<Double>, labels: [Int]) {
        BatchFactory.batch(classes: classes, perClass: perClass, dimension: 4, seed: seed, normalized: normalized)
    }

    var testDescription: String { "\(classes)×\(perClass)\(normalized ? " normalized" : " raw") seed \(seed)" }

    /// C×2 and C×4 layouts, raw and normalized, three seeds each.
    static let standard = layouts(seeds: [11, 12, 13])

    /// The same layouts with two seeds (for the costlier HNPM checks).
    static let reduced = layouts(seeds: [11, 12])

    private static func layouts(seeds: [UInt64]) -> [TestBatch] {
        [(3, 2), (2, 4)].flatMap { layout in
            [false, true].flatMap { normalized in
                seeds.map { TestBatch(classes: layout.0, perClass: layout.1, normalized: normalized, seed: $0) }
            }
        }
    }
}
