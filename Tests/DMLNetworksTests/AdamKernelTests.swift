import Testing
@testable import DMLNetworks
import DMLNumerics

/// The Adam kernel's eight-lane loop against a scalar transcription of the update
/// (`m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`, with
/// both decays): the same bits for every count, remainders included, in Float and Double.
@Suite struct AdamKernelTests {
    static let hyper = AdamStepConstants(learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, biasCorrection1: 1 - 0.9 * 0.9,
                                         biasCorrection2: 1 - 0.999 * 0.999, coupledDecay: 1e-3, decoupledDecay: 1e-2)

    /// The scalar rule, written out as the kernel's documentation states it.
    static func reference<T: NetworkScalar>(_ w: inout [T], _ g: [T], _ m: inout [T], _ v: inout [T]) {
        let h = hyper
        let b1 = T(h.beta1), b2 = T(h.beta2), a1 = 1 - b1, a2 = 1 - b2
        let stepSize = T(h.learningRate / h.biasCorrection1), rootCorrection = T(h.biasCorrection2.squareRoot())
        let eps = T(h.epsilon), lambda = T(h.coupledDecay), shrink = T(1 - h.learningRate * h.decoupledDecay)
        for i in w.indices {
            let weight = w[i] * shrink
            let grad = g[i] + lambda * weight
            m[i] = b1 * m[i] + a1 * grad
            v[i] = b2 * v[i] + a2 * grad * grad
            w[i] = weight - stepSize * m[i] / (v[i].squareRoot() / rootCorrection + eps)
        }
    }

    static func check<T: NetworkScalar>(_: T.Type) {
        var rng = SeededGenerator(seed: 31)
        for count in 0...21 {
            let w0 = rng.normalMatrix(rows: 1, columns: max(count, 1), as: T.self).elements.prefix(count).map { $0 }
            let g = rng.normalMatrix(rows: 1, columns: max(count, 1), as: T.self).elements.prefix(count).map { $0 }
            let m0 = g.map { $0 / 3 }, v0 = g.map { $0 * $0 / 5 }
            var (w, m, v) = (w0, m0, v0)
            var (rw, rm, rv) = (w0, m0, v0)
            reference(&rw, g, &rm, &rv)
            w.withUnsafeMutableBufferPointer { wp in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        g.withUnsafeBufferPointer { gp in
                            guard count > 0 else { return }
                            T.adamUpdate(weights: wp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                                         secondMoment: vp.baseAddress!, count: count, hyper: hyper)
                        }
                    }
                }
            }
            #expect(w == rw && m == rm && v == rv, "\(T.self), \(count) weights")
            if count > 0 { #expect(w != w0) }
        }
    }

    @Test("Float: the vector loop and its remainder give the scalar rule's bits") func float() { Self.check(Float.self) }
    @Test("Double: the vector loop and its remainder give the scalar rule's bits") func double() { Self.check(Double.self) }
}
