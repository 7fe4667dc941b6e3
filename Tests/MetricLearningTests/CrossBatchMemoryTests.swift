import Foundation
import Testing
import DMLNumerics
import DMLTestSupport
@testable import MetricLearning

/// The cross-batch memory queue: order, wrap-around, export and restore.
@Suite struct CrossBatchMemoryQueueTests {
    /// One-dimensional rows whose value is their position in the stream: 1, 2, 3, …
    static func rows(_ values: [Double]) -> Matrix<Double> {
        Matrix(rows: values.count, columns: 1, elements: values)
    }

    @Test func fillsInOrderThenOverwritesTheOldest() throws {
        var queue = try CrossBatchMemory<Double>(capacity: 3, dimension: 1)
        #expect(queue.count == 0 && queue.head == 0)
        try queue.enqueue(Self.rows([1, 2]), labels: [10, 20])
        #expect(queue.embeddings.elements == [1, 2] && queue.labels == [10, 20] && queue.head == 2)
        try queue.enqueue(Self.rows([3, 4]), labels: [30, 40])
        // Slot 0 held the oldest row (1); it is overwritten by 4.
        #expect(queue.embeddings.elements == [4, 2, 3] && queue.labels == [40, 20, 30] && queue.head == 1)
        #expect(queue.chronological.embeddings.elements == [2, 3, 4])
        #expect(queue.chronological.labels == [20, 30, 40])
        try queue.enqueue(Self.rows([5]), labels: [50])
        #expect(queue.embeddings.elements == [4, 5, 3] && queue.head == 2)
        #expect(queue.chronological.embeddings.elements == [3, 4, 5])
    }

    @Test func aBatchLargerThanTheCapacityKeepsItsLastRows() throws {
        var queue = try CrossBatchMemory<Double>(capacity: 3, dimension: 1)
        try queue.enqueue(Self.rows([1]), labels: [1])
        try queue.enqueue(Self.rows([2, 3, 4, 5, 6]), labels: [2, 3, 4, 5, 6])
        #expect(queue.chronological.embeddings.elements == [4, 5, 6])
        #expect(queue.chronological.labels == [4, 5, 6])
        #expect(queue.count == 3)
    }

    @Test func aRestoredQueueContinuesExactly() throws {
        var queue = try CrossBatchMemory<Float>(capacity: 5, dimension: 2)
        var rng = SeededGenerator(seed: 3)
        for step in 0..<4 {
            let batch: Matrix<Double> = rng.normalMatrix(rows: 2, columns: 2)
            try queue.enqueue(batch.converted(to: Float.self), labels: [step, step])
        }
        let json = try JSONEncoder().encode(queue)
        var decoded = try JSONDecoder().decode(CrossBatchMemory<Float>.self, from: json)
        var exported = try CrossBatchMemory(capacity: queue.capacity, embeddings: queue.embeddings,
                                            labels: queue.labels, head: queue.head)
        #expect(decoded == queue && exported == queue)
        let next = Matrix<Float>(rows: 3, columns: 2, elements: [1, 2, 3, 4, 5, 6])
        try queue.enqueue(next, labels: [7, 8, 9])
        try decoded.enqueue(next, labels: [7, 8, 9])
        try exported.enqueue(next, labels: [7, 8, 9])
        #expect(decoded == queue && exported == queue)
        #expect(queue.embeddings.elements.elementsEqual(decoded.embeddings.elements) { $0.bitPattern == $1.bitPattern })
    }

    @Test func rejectsBadInput() throws {
        #expect(throws: MetricLearningError.self) { try CrossBatchMemory<Double>(capacity: 0, dimension: 1) }
        var queue = try CrossBatchMemory<Double>(capacity: 2, dimension: 2)
        #expect(throws: MetricLearningError.self) { try queue.enqueue(Self.rows([1]), labels: [0]) }  // wrong d
        #expect(throws: MetricLearningError.self) {
            try queue.enqueue(Matrix(rows: 1, columns: 2, elements: [.nan, 0]), labels: [0])
        }
        #expect(throws: MetricLearningError.self) {
            try CrossBatchMemory(capacity: 2, embeddings: Self.rows([1]), labels: [0], head: 0)  // head must be 1
        }
        let corrupt = Data(#"{"capacity":2,"dimension":1,"embeddings":[1,2,3],"labels":[0,1],"head":0}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CrossBatchMemory<Double>.self, from: corrupt) }
    }
}

/// Every loss in every mode with a fixed memory: gradients, the mining rule, the empty memory.
@Suite struct MemoryLossTests {
    static func losses(normalized: Bool) -> [(name: String, loss: any HardNegativeMiningLoss)] {
        var losses: [(name: String, loss: any HardNegativeMiningLoss)] = [
            ("contrastive", ContrastiveLoss(margin: normalized ? 1 : 3)),
            ("lifted", LiftedStructuredLoss(margin: normalized ? 1 : 2)),
            ("npair", NPairLoss()), ("angular", AngularLoss()),
            ("multisimilarity", MultiSimilarityLoss()), ("multisimilarity-nominer", MultiSimilarityLoss(mining: false)),
        ]
        for selection in TripletSelection.allCases {
            for squared in [false, true] {
                let margin = normalized ? (squared ? 1.5 : 0.5) : (squared ? 6 : 2)
                losses.append(("triplet \(selection) \(squared ? "D²" : "D")",
                               TripletLoss(margin: margin, squared: squared, selection: selection)))
            }
        }
        return losses
    }

    /// A memory of 4 classes × 2 (classes 0–2 shared with the batch, class 3 memory-only).
    static func memory(seed: UInt64, normalized: Bool) throws -> MemoryPoints<Double> {
        let (m, y) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 4, seed: seed &+ 100, spread: 0.6, normalized: normalized)
        return try MemoryPoints(embeddings: m, labels: y)
    }

    static func evaluate<T: BLASScalar>(_ loss: any HardNegativeMiningLoss, _ mode: LossMode, _ x: Matrix<T>, _ labels: [Int],
                                        _ memory: MemoryPoints<T>?) throws -> LossOutput<T> {
        if let synthesis = mode.synthesis() {
            return try loss.hardNegativeLoss(x, labels: labels, synthesis: synthesis, memory: memory)
        }
        return try loss.loss(x, labels: labels, memory: memory)
    }

    @Test(arguments: LossMode.allCases, [2, 4])
    func gradientMatchesFiniteDifferences(mode: LossMode, perClass: Int) throws {
        var affected = Set<String>()
        for normalized in [true, false] {
            for (name, loss) in Self.losses(normalized: normalized) {
                for seed in UInt64(1)...2 {
                    let (x, labels) = BatchFactory.batch(classes: 3, perClass: perClass, dimension: 4, seed: seed,
                                                         spread: 0.6, normalized: normalized)
                    let memory = try Self.memory(seed: seed, normalized: normalized)
                    let output = try Self.evaluate(loss, mode, x, labels, memory)
                    let f = { (y: Matrix<Double>) in try! Self.evaluate(loss, mode, y, labels, memory).value }
                    let error = FiniteDifference.check(f, analytic: output.gradient, at: x)
                    #expect(error < 1e-6, "\(name) \(mode) C×\(perClass) normalized \(normalized) seed \(seed): \(error)")
                    let without = try Self.evaluate(loss, mode, x, labels, nil)
                    if output.value != without.value || output.gradient != without.gradient { affected.insert(name) }
                }
            }
        }
        // The memory changes every loss on some of the batches (it is really used).
        let names = Set(Self.losses(normalized: true).map(\.name))
        #expect(affected == names, "the memory had no effect on \(names.subtracting(affected).sorted())")
    }

    @Test(arguments: LossMode.allCases)
    func anEmptyMemoryGivesExactlyTheLossWithoutMemory(mode: LossMode) throws {
        let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 5, seed: 7, normalized: true)
        let empty = try MemoryPoints(embeddings: Matrix<Double>(rows: 0, columns: 5), labels: [])
        for (name, loss) in Self.losses(normalized: true) {
            let with = try Self.evaluate(loss, mode, x, labels, empty)
            let without = try Self.evaluate(loss, mode, x, labels, nil)
            #expect(with.value == without.value && with.gradient == without.gradient, "\(name) \(mode)")
            #expect(with.syntheticFraction == without.syntheticFraction)
        }
    }

    /// `d⁻(s_ij, c)` mined over batch, synthetic and memory points against a brute-force
    /// enumeration from coordinates, and the HNPM contrastive value built from it.
    @Test(arguments: HNPMMode.all)
    func hardestNegativePairsMatchABruteForceEnumeration(mode: HNPMMode) throws {
        for seed in UInt64(1)...3 {
            let (x, labels) = BatchFactory.batch(classes: 3, perClass: 4, dimension: 4, seed: seed, normalized: true)
            let memory = try Self.memory(seed: seed, normalized: true)
            let mined = try MinedPairBatch(x, labels: labels, synthesis: mode.synthesis, memory: memory)
            let batch = mined.batch
            let allLabels = batch.labels + memory.labels
            func point(_ k: Int) -> [Double] {
                k < batch.points.rows ? batch.points.row(k) : memory.embeddings.row(k - batch.points.rows)
            }
            func distance(_ a: Int, _ b: Int) -> Double {
                zip(point(a), point(b)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            }
            #expect(mined.hardest.classes == Array(Set(allLabels)).sorted())
            var positiveSum = 0.0, negativeSum = 0.0, negativeCount = 0
            for (s, pair) in mined.pairs.enumerated() {
                var set: Set<Int> = [pair.first, pair.second]
                for group in batch.groups where [pair.first, pair.second].contains(group.pair.first)
                    || [pair.first, pair.second].contains(group.pair.second) {
                    set.formUnion(group.members)
                }
                positiveSum += pow(distance(pair.first, pair.second), 2)
                for (c, label) in mined.hardest.classes.enumerated() where label != pair.label {
                    var best = Double.infinity
                    for p in set { for q in 0..<allLabels.count where allLabels[q] == label { best = min(best, distance(p, q)) } }
                    let got = mined.hardest.value[s, c]
                    #expect(abs(got - best) < 1e-12, "\(mode.name) seed \(seed) pair \(s) class \(label): \(got) vs \(best)")
                    negativeSum += pow(max(0, 1 - best), 2)
                    negativeCount += 1
                }
            }
            let expected = positiveSum / Double(mined.pairs.count) + negativeSum / Double(negativeCount)
            let value = try ContrastiveLoss().hardNegativeLoss(x, labels: labels, synthesis: mode.synthesis, memory: memory).value
            #expect(abs(value - expected) < 1e-12)
        }
    }

    /// Batch `x0 = (0,0), x1 = (1,0)` (class 0), `x2 = (0,1), x3 = (0,2)` (class 1), memory
    /// `m = (0.5, 0)` of class 1. Batch pairs: `D²_01 = D²_23 = 1`, every negative `D ≥ 1` (no
    /// hinge). Memory pairs: `D_0m = D_1m = 0.5` (negatives, hinge `0.5² = 0.25` each),
    /// `D²_2m = 1.25`, `D²_3m = 4.25` (positives). `|P| = 4`, `|N| = 6`:
    /// `L = (1 + 1 + 1.25 + 4.25)/4 + (0.25 + 0.25)/6 = 1.875 + 1/12`.
    @Test func handCheckedContrastiveCase() throws {
        let x = Matrix<Double>([[0, 0], [1, 0], [0, 1], [0, 2]])
        let memory = try MemoryPoints(embeddings: Matrix<Double>([[0.5, 0]]), labels: [1])
        let output = try ContrastiveLoss().loss(x, labels: [0, 0, 1, 1], memory: memory)
        #expect(abs(output.value - (1.875 + 1.0 / 12)) < 1e-12)
        // ∂/∂x0 of the memory hinge: −2 (1 − D) ∂D/∂x0 / |N| = −2 · 0.5 · (−1, 0)/6, plus the
        // positive pair: 2 (x0 − x1)/|P| = (−0.5, 0).
        #expect(abs(output.gradient[0, 0] - (-0.5 + 1.0 / 6)) < 1e-12)
        #expect(abs(output.gradient[0, 1]) < 1e-12)
    }

    @Test func aMemoryOfAnotherDimensionIsRejected() throws {
        let (x, labels) = BatchFactory.batch(classes: 2, perClass: 2, dimension: 4, seed: 1)
        let memory = try MemoryPoints(embeddings: Matrix<Double>(rows: 1, columns: 3), labels: [0])
        #expect(throws: MetricLearningError.self) { try ContrastiveLoss().loss(x, labels: labels, memory: memory) }
        #expect(throws: MetricLearningError.self) {
            try LossConfiguration(kind: .npair, mining: .hnpm, synthesis: .ee).evaluate(x, labels: labels, memory: memory)
        }
    }

    @Test func floatAgreesWithDouble() throws {
        let (x, labels) = BatchFactory.batch(classes: 4, perClass: 2, dimension: 8, seed: 11, normalized: true)
        let (m, y) = BatchFactory.batch(classes: 6, perClass: 2, dimension: 8, seed: 12, normalized: true)
        let memoryD = try MemoryPoints(embeddings: m, labels: y)
        let memoryF = try MemoryPoints(embeddings: m.converted(to: Float.self), labels: y)
        for (name, loss) in Self.losses(normalized: true) {
            for mode in LossMode.allCases {
                let double = try Self.evaluate(loss, mode, x, labels, memoryD)
                let float = try Self.evaluate(loss, mode, x.converted(to: Float.self), labels, memoryF)
                #expect(abs(Double(float.value) - double.value) < 1e-4 * max(1, abs(double.value)), "\(name) \(mode)")
                #expect(float.gradient.converted(to: Double.self).maxAbsDifference(double.gradient) < 1e-4, "\(name) \(mode)")
            }
        }
    }
}
