import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

// The papers' open questions as options (issue 15): EE's adaptive n, the class-mean axis,
// Symm's schedule, negative class sampling, and synthesis from memory pairs.

/// `Σ_k W_k · P_k` over the augmented points: its gradient with respect to the originals is
/// `batch.backward(W)`, so finite differences of it check every synthesis backward pass.
private func probe(_ synthesis: some EmbeddingSynthesis, weights: Matrix<Double>, labels: [Int]) -> (Matrix<Double>) -> Double {
    { x in
        let points = try! synthesis.augment(x, labels: labels).points
        return zip(points.elements, weights.elements).reduce(0) { $0 + $1.0 * $1.1 }
    }
}

private func unit(_ v: [Double]) -> [Double] {
    let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / n }
}

private func close(_ a: [Double], _ b: [Double], _ tolerance: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

@Suite struct SynthesisOptionTests {
    /// Three pairs of lengths √2, √0.4 and 0.3: with δ = 0.5 and at most 4 points they get
    /// ⌈2.83⌉ = 3, ⌈1.26⌉ = 2 and ⌈0.6⌉ = 1 points; with δ = 0.12, 4 (capped), 4 (capped) and ⌈2.5⌉ = 3.
    @Test func adaptiveExpansionChoosesThePointsPerPairFromTheDistance() throws {
        let x = Matrix<Double>(rows: 6, columns: 2, elements: [1, 0, 0, 1, 1, 0, 0.8, 0.6, 1, 0, 1, 0.3])
        let labels = [0, 0, 1, 1, 2, 2]
        let ee = EmbeddingExpansion(points: 4, adaptiveSpacing: 0.5)
        let batch = try ee.augment(x, labels: labels)
        #expect(batch.groups.map { $0.members.count - 2 } == [3, 2, 1])
        #expect(batch.points.rows == 6 + 6 && batch.pointsPerPair == 3)
        // Pair 0, n = 3: x̄_t = (t·x_0 + (4 − t)·x_1)/4, normalized.
        for t in 1...3 {
            let expected = unit([Double(t) / 4, Double(4 - t) / 4])
            #expect(close(batch.points.row(6 + t - 1), expected), "t = \(t)")
        }
        // Pair 2, n = 1: the normalized midpoint.
        #expect(close(batch.points.row(11), unit([1, 0.15])))
        #expect(batch.labels == labels + [0, 0, 0, 1, 1, 2])
        let dense = try EmbeddingExpansion(points: 4, adaptiveSpacing: 0.12).augment(x, labels: labels)
        #expect(dense.groups.map { $0.members.count - 2 } == [4, 4, 3])
        // δ = 0 is the fixed-n rule, bit for bit.
        let fixed = try EmbeddingExpansion(points: 4).augment(x, labels: labels)
        #expect(fixed.groups.map { $0.members.count - 2 } == [4, 4, 4])
        #expect(EmbeddingExpansion(points: 8, adaptiveSpacing: 0.25).pointCount(distance: 2) == 8)
        #expect(EmbeddingExpansion(points: 8, adaptiveSpacing: 0.25).pointCount(distance: 0) == 1)
        #expect(throws: MetricLearningError.self) { try EmbeddingExpansion(adaptiveSpacing: -1).augment(x, labels: labels) }
    }

    /// A class of (1,0), (0,1), (1,1): its mean (2/3, 2/3) lies on the line y = x, so the mirror
    /// images about the mean axis (α = 2, β = 1) are (0,1), (1,0) and (1,1); the class of two,
    /// (2,0) and (0,1), has the mean (1, 0.5).
    @Test func symmetricalSynthesisAboutTheClassMean() throws {
        let x = Matrix<Double>(rows: 5, columns: 2, elements: [1, 0, 0, 1, 1, 1, 2, 0, 0, 1])
        let labels = [4, 4, 4, 9, 9]
        let batch = try SymmetricalSynthesis(axis: .classMean).augment(x, labels: labels)
        #expect(batch.points.rows == 10)
        #expect(close(batch.points.row(5), [0, 1]) && close(batch.points.row(6), [1, 0]) && close(batch.points.row(7), [1, 1]))
        // (2,0) about the axis of (1, 0.5): 2·(2·1/1.25)(1, 0.5) − (2, 0) = (1.2, 1.6).
        #expect(close(batch.points.row(8), [1.2, 1.6]))
        #expect(batch.groups.map(\.originals) == [[0, 1, 2], [3, 4]])
        #expect(batch.groups.map(\.members) == [[0, 1, 2, 5, 6, 7], [3, 4, 8, 9]])
        #expect(batch.labels == labels + [4, 4, 4, 9, 9])
        // α = 1, β = 0.5: half the projection on the mean axis: 0.5·(2/3)/(8/9)·(2/3, 2/3) = (0.25, 0.25).
        let projected = try SymmetricalSynthesis(alpha: 1, beta: 0.5, axis: .classMean).augment(x, labels: labels)
        #expect(close(projected.points.row(5), [0.25, 0.25]))
    }

    /// EE towards the class mean, n = 1: the normalized midpoint of x_k and μ.
    @Test func expansionTowardsTheClassMean() throws {
        let x = Matrix<Double>(rows: 5, columns: 2, elements: [1, 0, 0, 1, 1, 1, 2, 0, 0, 1])
        let labels = [4, 4, 4, 9, 9]
        let batch = try EmbeddingExpansion(points: 1, axis: .classMean).augment(x, labels: labels)
        #expect(batch.points.rows == 10)
        // (x_0 + μ)/2 = (5/6, 1/3).
        #expect(close(batch.points.row(5), unit([5.0 / 6, 1.0 / 3])))
        #expect(close(batch.points.row(7), unit([5.0 / 6, 5.0 / 6])))
        let two = try EmbeddingExpansion(points: 2, normalize: false, axis: .classMean).augment(x, labels: labels)
        // t = 1: (x_0 + 2μ)/3 = (7/9, 4/9); t = 2: (2x_0 + μ)/3 = (8/9, 2/9).
        #expect(close(two.points.row(5), [7.0 / 9, 4.0 / 9]) && close(two.points.row(6), [8.0 / 9, 2.0 / 9]))
        #expect(two.groups[0].members == [0, 1, 2, 5, 6, 7, 8, 9, 10])
    }

    static let syntheses: [(String, any EmbeddingSynthesis)] = [
        ("EE adaptive δ=0.4 n≤4", EmbeddingExpansion(points: 4, adaptiveSpacing: 0.4)),
        ("EE adaptive raw", EmbeddingExpansion(points: 3, normalize: false, adaptiveSpacing: 0.5)),
        ("EE class mean n=2", EmbeddingExpansion(axis: .classMean)),
        ("EE class mean adaptive", EmbeddingExpansion(points: 3, adaptiveSpacing: 0.3, axis: .classMean)),
        ("Symm class mean", SymmetricalSynthesis(axis: .classMean)),
        ("Symm class mean α=1.5 β=0.8", SymmetricalSynthesis(alpha: 1.5, beta: 0.8, axis: .classMean)),
        ("Symm α=1.3 β=1.2", SymmetricalSynthesis(alpha: 1.3, beta: 1.2)),
    ]

    /// Every new synthesis's backward pass against central differences in Double (C×3 and C×4).
    @Test func backwardMatchesFiniteDifferences() throws {
        for (name, synthesis) in Self.syntheses {
            for (perClass, seed) in [(3, UInt64(1)), (4, UInt64(2)), (4, UInt64(3))] {
                let (x, labels) = BatchFactory.batch(classes: 2, perClass: perClass, dimension: 4, seed: seed)
                let batch = try synthesis.augment(x, labels: labels)
                var rng = SeededGenerator(seed: seed + 100)
                let w: Matrix<Double> = rng.normalMatrix(rows: batch.points.rows, columns: x.columns)
                let error = FiniteDifference.check(probe(synthesis, weights: w, labels: labels), analytic: batch.backward(w), at: x)
                #expect(error < 1e-7, "\(name) C×\(perClass) seed \(seed): \(error)")
            }
        }
    }

    /// Every loss in HNPM mode with the new syntheses, with and without memory: value and
    /// gradient against central differences (C×4, normalized and raw).
    @Test(arguments: [false, true])
    func lossGradientsMatchFiniteDifferences(withMemory: Bool) throws {
        for normalized in [true, false] {
            for (name, loss) in MemoryLossTests.losses(normalized: normalized) {
                for (synthesisName, synthesis) in Self.syntheses where normalized || !synthesisName.contains("raw") {
                    let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 4, seed: 5,
                                                         spread: 0.6, normalized: normalized)
                    let memory = withMemory ? try MemoryLossTests.memory(seed: 5, normalized: normalized) : nil
                    let output = try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory)
                    let f = { (y: Matrix<Double>) in try! loss.hardNegativeLoss(y, labels: labels, synthesis: synthesis, memory: memory).value }
                    let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
                    #expect(error < 1e-6, "\(name) \(synthesisName) normalized \(normalized) memory \(withMemory): \(error)")
                }
            }
        }
    }

    @Test func symmetricalScheduleIsLinearInTheProgress() throws {
        let symm = SymmetricalSynthesis(alpha: 2, beta: 1, schedule: .linear, finalAlpha: 1, finalBeta: 1.5)
        #expect(symm.scheduled(progress: 0).alpha == 2 && symm.scheduled(progress: 0).beta == 1)
        #expect(symm.scheduled(progress: 0.5).alpha == 1.5 && symm.scheduled(progress: 0.5).beta == 1.25)
        #expect(symm.scheduled(progress: 1).alpha == 1 && symm.scheduled(progress: 1).beta == 1.5)
        #expect(symm.scheduled(progress: 0.5).schedule == .constant)
        #expect(SymmetricalSynthesis(alpha: 1.7).scheduled(progress: 0.5).alpha == 1.7)
        var configuration = LossConfiguration(kind: .lifted, mining: .hnpm, synthesis: .symm, symmetrical: symm)
        // Iteration t of T = 5 is progress t/4.
        #expect(configuration.scheduled(iteration: 0, of: 5, seed: 0).symmetrical.alpha == 2)
        #expect(configuration.scheduled(iteration: 2, of: 5, seed: 0).symmetrical.alpha == 1.5)
        #expect(configuration.scheduled(iteration: 4, of: 5, seed: 0).symmetrical.alpha == 1)
        #expect(configuration.scheduled(iteration: 0, of: 1, seed: 0).symmetrical.alpha == 2)
        // The scheduled loss is the constant loss at the scheduled α, β.
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 3, normalized: true)
        let midway = try configuration.scheduled(iteration: 2, of: 5, seed: 0).evaluate(x, labels: labels)
        configuration.symmetrical = SymmetricalSynthesis(alpha: 1.5, beta: 1.25)
        #expect(try configuration.evaluate(x, labels: labels).value == midway.value)
    }
}

@Suite struct NegativeClassSamplingTests {
    @Test func keepsTheRequestedNumberOfOtherClassesUniformly() {
        let sampling = NegativeClassSampling(classes: 2, seed: 7)
        let owns = (0..<3000).map { $0 % 6 }
        let kept = sampling.keptColumns(ownColumns: owns, classCount: 6)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 6), count: 6)
        for (s, own) in owns.enumerated() {
            let columns = Array(kept.columns[kept.offsets[s]..<kept.offsets[s + 1]])
            #expect(columns.count == 2 && columns == columns.sorted() && Set(columns).count == 2 && !columns.contains(own))
            for c in columns { counts[own][c] += 1 }
        }
        // Each of the 5 other classes is kept with probability 2/5 (500 sets per own class).
        for own in 0..<6 {
            for c in 0..<6 where c != own {
                #expect(abs(Double(counts[own][c]) / 500 - 0.4) < 0.08, "own \(own) class \(c): \(counts[own][c])")
            }
        }
        #expect(sampling.keptColumns(ownColumns: owns, classCount: 6) == kept)
        #expect(NegativeClassSampling(classes: 2, seed: 8).keptColumns(ownColumns: owns, classCount: 6) != kept)
        // More classes asked than there are: every negative class.
        let all = NegativeClassSampling(classes: 10).keptColumns(ownColumns: [1, 0], classCount: 3)
        #expect(all.offsets == [0, 2, 4] && all.columns == [0, 2, 1, 2])
    }

    /// Keeping at least C − 1 classes is the full HNPM loss, bit for bit, for every loss.
    @Test func keepingEveryClassIsTheFullLoss() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 4, seed: 9, normalized: true)
        let memory = try MemoryLossTests.memory(seed: 9, normalized: true)
        for (name, loss) in MemoryLossTests.losses(normalized: true) {
            for synthesis in [NoSynthesis(), EmbeddingExpansion(), SymmetricalSynthesis()] as [any EmbeddingSynthesis] {
                let full = try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory)
                let sampled = try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory,
                                                        sampling: NegativeClassSampling(classes: 4, seed: 3))
                #expect(full.value == sampled.value && full.gradient == sampled.gradient, "\(name)")
            }
        }
    }

    /// With 2 of the 4 negative classes kept: every kept `d⁻(s, c)` equals the full miner's,
    /// the others are not mined, and the HNPM contrastive value built by hand from the kept
    /// entries equals the loss.
    @Test func minesTheKeptClassesExactly() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 4, seed: 2, normalized: true)
        let memory = try MemoryLossTests.memory(seed: 2, normalized: true)
        let sampling = NegativeClassSampling(classes: 2, seed: 11)
        let synthesis = EmbeddingExpansion()
        let full = try MinedPairBatch(x, labels: labels, synthesis: synthesis, memory: memory)
        let sampled = try MinedPairBatch(x, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling)
        let classCount = full.hardest.classes.count
        #expect(classCount == 4)
        var positive = 0.0, negative = 0.0, terms = 0
        for s in 0..<full.hardest.rows {
            var kept = 0
            for c in 0..<classCount where sampled.hardest.isNegative(row: s, column: c) {
                kept += 1
                #expect(full.hardest.isNegative(row: s, column: c))
                #expect(sampled.hardest.value[s, c] == full.hardest.value[s, c])
                #expect(sampled.hardest.groupPoint[s * classCount + c] == full.hardest.groupPoint[s * classCount + c])
                negative += pow(max(0, 1 - full.hardest.value[s, c]), 2)
                terms += 1
            }
            #expect(kept == 2)
            let pair = full.pairs[s]
            positive += pow(full.geometry.distances[pair.first, pair.second], 2)
        }
        let expected = positive / Double(full.pairs.count) + negative / Double(terms)
        let loss = try ContrastiveLoss().hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling)
        #expect(abs(loss.value - expected) < 1e-12)
    }

    /// The sampled loss's gradient against central differences (the draw is fixed by its seed).
    @Test func sampledGradientsMatchFiniteDifferences() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 4, seed: 4, spread: 0.6, normalized: true)
        let memory = try MemoryLossTests.memory(seed: 4, normalized: true)
        let sampling = NegativeClassSampling(classes: 2, seed: 5)
        for (name, loss) in MemoryLossTests.losses(normalized: true) {
            for synthesis in [NoSynthesis(), SymmetricalSynthesis()] as [any EmbeddingSynthesis] {
                let output = try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling)
                let f = { (y: Matrix<Double>) in
                    try! loss.hardNegativeLoss(y, labels: labels, synthesis: synthesis, memory: memory, sampling: sampling).value
                }
                let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
                #expect(error < 1e-6, "\(name): \(error)")
            }
        }
    }

    @Test func configurationDrawsPerIterationAndRejectsPlainMode() throws {
        let configuration = LossConfiguration(kind: .contrastive, mining: .hnpm, negativeClasses: 3)
        let a = configuration.scheduled(iteration: 5, of: 100, seed: 1)
        #expect(a.samplingSeed == configuration.scheduled(iteration: 5, of: 100, seed: 1).samplingSeed)
        #expect(a.samplingSeed != configuration.scheduled(iteration: 6, of: 100, seed: 1).samplingSeed)
        #expect(a.samplingSeed != configuration.scheduled(iteration: 5, of: 100, seed: 2).samplingSeed)
        #expect(a.sampling == NegativeClassSampling(classes: 3, seed: a.samplingSeed))
        #expect(LossConfiguration().sampling == nil)
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 3, normalized: true)
        #expect(throws: MetricLearningError.self) { try LossConfiguration(kind: .contrastive, negativeClasses: 2).evaluate(x, labels: labels) }
        #expect(throws: MetricLearningError.self) {
            try LossConfiguration(kind: .contrastive, mining: .hnpm, negativeClasses: -1).evaluate(x, labels: labels)
        }
    }
}

@Suite struct MemorySynthesisTests {
    /// With `memorySynthesis`, the memory gains EE's points of its adjacent same-class pairs in
    /// slot order: built here by hand from the coordinates, the loss must equal the loss with
    /// that hand-built memory and no memory synthesis.
    @Test func expansionOfMemoryPairsEqualsTheHandBuiltMemory() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 6, normalized: true)
        // Memory labels in slot order 0, 3, 0, 3, 3, 1: pairs (0,2) of class 0, (1,3) of class 3;
        // slot 4 (class 3) and slot 5 (class 1) have no partner.
        let (m, _) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 60, normalized: true)
        let memoryLabels = [0, 3, 0, 3, 3, 1]
        let memory = try MemoryPoints(embeddings: m, labels: memoryLabels)
        var rows = (0..<6).map { m.row($0) }
        var extendedLabels = memoryLabels
        for (i, j, label) in [(0, 2, 0), (1, 3, 3)] {
            for t in 1...2 {   // n = 2: a_t = t/3
                let a = Double(t) / 3
                rows.append(unit(zip(m.row(i), m.row(j)).map { a * $0 + (1 - a) * $1 }))
                extendedLabels.append(label)
            }
        }
        let handBuilt = try MemoryPoints(embeddings: Matrix(rows: rows.count, columns: 4, elements: rows.flatMap { $0 }),
                                         labels: extendedLabels)
        for kind in LossKind.allCases {
            var configuration = LossConfiguration(kind: kind, mining: .hnpm, synthesis: .ee)
            let expected = try configuration.evaluate(x, labels: labels, memory: handBuilt)
            configuration.memorySynthesis = true
            let extended = try configuration.synthesizedMemory(memory)
            #expect(extended.labels == extendedLabels)
            #expect(extended.embeddings.maxAbsDifference(handBuilt.embeddings) < 1e-15)
            let got = try configuration.evaluate(x, labels: labels, memory: memory)
            #expect(abs(got.value - expected.value) < 1e-12 && got.gradient.maxAbsDifference(expected.gradient) < 1e-12, "\(kind)")
            // It changes the loss (the synthetic memory points are used).
            configuration.memorySynthesis = false
            #expect(try configuration.evaluate(x, labels: labels, memory: memory).value != got.value, "\(kind)")
        }
    }

    /// Symm on memory pairs, every loss: the gradient (batch rows only) against central differences.
    @Test func symmetricalMemorySynthesisGradients() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 8, spread: 0.6, normalized: true)
        let memory = try MemoryLossTests.memory(seed: 8, normalized: true)
        for kind in LossKind.allCases {
            let configuration = LossConfiguration(kind: kind, mining: .hnpm, synthesis: .symm, memorySynthesis: true)
            #expect(try configuration.synthesizedMemory(memory).count == memory.count * 2)
            let output = try configuration.evaluate(x, labels: labels, memory: memory)
            let f = { (y: Matrix<Double>) in try! configuration.evaluate(y, labels: labels, memory: memory).value }
            let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
            #expect(error < 1e-6, "\(kind): \(error)")
        }
    }

    @Test func rejectedWithoutSynthesis() throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 2, dimension: 4, seed: 3, normalized: true)
        #expect(throws: MetricLearningError.self) {
            try LossConfiguration(kind: .lifted, mining: .hnpm, memorySynthesis: true).evaluate(x, labels: labels)
        }
    }
}

@Suite struct OptionDecodingTests {
    /// A configuration written before the new options (no such keys) reads with their defaults.
    @Test func olderConfigurationsDecodeWithDefaults() throws {
        let configuration = LossConfiguration(kind: .npair, mining: .hnpm, synthesis: .symm)
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as! [String: Any]
        for key in ["negativeClasses", "samplingSeed", "memorySynthesis"] { #expect(object.removeValue(forKey: key) != nil) }
        var expansion = object["expansion"] as! [String: Any]
        expansion.removeValue(forKey: "adaptiveSpacing"); expansion.removeValue(forKey: "axis")
        object["expansion"] = expansion
        var symmetrical = object["symmetrical"] as! [String: Any]
        for key in ["axis", "schedule", "finalAlpha", "finalBeta"] { symmetrical.removeValue(forKey: key) }
        object["symmetrical"] = symmetrical
        let decoded = try JSONDecoder().decode(LossConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded == configuration)
        let options = LossConfiguration(expansion: EmbeddingExpansion(points: 8, adaptiveSpacing: 0.2, axis: .classMean),
                                        symmetrical: SymmetricalSynthesis(schedule: .linear, finalAlpha: 1.5),
                                        negativeClasses: 16, memorySynthesis: true)
        #expect(try JSONDecoder().decode(LossConfiguration.self, from: JSONEncoder().encode(options)) == options)
    }
}
