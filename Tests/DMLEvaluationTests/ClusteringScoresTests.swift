import DMLNumerics
import Foundation
import Testing
@testable import DMLEvaluation

/// NMI straight from its definition, `2 I / (H(Ω) + H(C))`, with `I` summed cell by cell.
private func definitionNMI(_ clusters: [Int], _ classes: [Int]) -> Double {
    let n = Double(clusters.count)
    var nk = [Int: Double](), nc = [Int: Double](), nkc = [[Int]: Double]()
    for (k, c) in zip(clusters, classes) {
        nk[k, default: 0] += 1
        nc[c, default: 0] += 1
        nkc[[k, c], default: 0] += 1
    }
    let mutual = nkc.reduce(0.0) { sum, cell in
        sum + cell.value / n * log(n * cell.value / (nk[cell.key[0]]! * nc[cell.key[1]]!))
    }
    let h = { (sizes: [Int: Double]) in sizes.values.reduce(0.0) { $0 - $1 / n * log($1 / n) } }
    return 2 * mutual / (h(nk) + h(nc))
}

@Suite("NMI and pair-counting F1")
struct ClusteringScoresTests {
    @Test("Hand-computed values for a fixed assignment")
    func handComputed() throws {
        // Ω = {0,1,2}{3,4,5}; C = {0,1}{2,3}{4,5}. Cells n_kc = 2,1,1,2.
        // I = (1/3)ln2 + 0 + 0 + (1/3)ln2, H(Ω) = ln2, H(C) = ln3 → NMI = (4/3)ln2 / ln6.
        // TP = 1+0+0+1 = 2, TP+FP = 3+3 = 6, FN = 3 − 2 = 1 → P = 1/3, R = 2/3, F1 = 4/9.
        let scores = try ClusteringScores.compute(clusters: [0, 0, 0, 1, 1, 1], classes: [0, 0, 1, 1, 2, 2])
        #expect(abs(scores.nmi - (4.0 / 3.0) * log(2.0) / log(6.0)) < 1e-12)
        #expect(abs(scores.precision - 1.0 / 3.0) < 1e-12)
        #expect(abs(scores.recall - 2.0 / 3.0) < 1e-12)
        #expect(abs(scores.f1 - 4.0 / 9.0) < 1e-12)
    }

    @Test("A perfect clustering scores 1 whatever the ids; one cluster for one class is NMI 1 by convention")
    func perfectAndDegenerate() throws {
        let perfect = try ClusteringScores.compute(clusters: [7, 7, 3, 3, 9], classes: [0, 0, 1, 1, 2])
        #expect(abs(perfect.nmi - 1) < 1e-12 && abs(perfect.f1 - 1) < 1e-12)
        let trivial = try ClusteringScores.compute(clusters: [0, 0, 0], classes: [5, 5, 5])
        #expect(trivial.nmi == 1 && trivial.f1 == 1)
        // All singletons: no predicted pair, so P = 0 by the zero-denominator rule and F1 = 0.
        let singletons = try ClusteringScores.compute(clusters: [0, 1, 2, 3], classes: [0, 0, 1, 1])
        #expect(singletons.precision == 0 && singletons.f1 == 0)
        #expect(abs(singletons.nmi - definitionNMI([0, 1, 2, 3], [0, 0, 1, 1])) < 1e-12)
    }

    @Test("Matches the definition on random assignments")
    func randomAgainstDefinition() throws {
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<20 {
            let n = 30
            let clusters = (0..<n).map { _ in generator.nextInt(below: 5) }
            let classes = (0..<n).map { _ in generator.nextInt(below: 4) }
            let scores = try ClusteringScores.compute(clusters: clusters, classes: classes)
            #expect(abs(scores.nmi - definitionNMI(clusters, classes)) < 1e-12)
            // Pair counting over all unordered pairs, directly.
            var tp = 0.0, samePredicted = 0.0, sameActual = 0.0
            for i in 0..<n {
                for j in (i + 1)..<n {
                    let predicted = clusters[i] == clusters[j], actual = classes[i] == classes[j]
                    if predicted { samePredicted += 1 }
                    if actual { sameActual += 1 }
                    if predicted && actual { tp += 1 }
                }
            }
            let p = tp / samePredicted, r = tp / sameActual
            #expect(abs(scores.f1 - 2 * p * r / (p + r)) < 1e-12)
        }
    }

    @Test("Mismatched or empty input is an error")
    func errors() {
        #expect(throws: EvaluationError.countMismatch(name: "cluster assignments", expected: 3, actual: 2)) {
            try ClusteringScores.compute(clusters: [0, 1], classes: [0, 1, 2])
        }
        #expect(throws: EvaluationError.empty(name: "class labels")) {
            try ClusteringScores.compute(clusters: [], classes: [])
        }
    }
}
