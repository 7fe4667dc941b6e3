import DMLNumerics
import Testing
import DMLTestSupport

/// Finite-difference checks that also prove the point is away from hinge kinks and from
/// arg-min switches: the numeric gradient must agree at two step sizes 100× apart.
enum GradientCheck {
    /// The worst error of `analytic` against central differences (step 1e-6), and the worst
    /// disagreement between the numeric gradients at steps 1e-4 and 1e-6 (large near a kink).
    static func errors(
        of f: (Matrix<Double>) -> Double, analytic: Matrix<Double>, at x: Matrix<Double>
    ) -> (gradient: Double, stability: Double) {
        let fine = FiniteDifference.gradient(of: f, at: x, step: 1e-6)
        let coarse = FiniteDifference.gradient(of: f, at: x, step: 1e-4)
        return (FiniteDifference.worstError(analytic: analytic, numeric: fine),
                FiniteDifference.worstError(analytic: coarse, numeric: fine))
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
