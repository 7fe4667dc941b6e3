import DMLNumerics
import Foundation
import Testing
@testable import DMLReport

@Suite struct PrincipalComponentsTests {
    @Test func recoversAKnownRotatedCovariance() {
        // Points ±3u and ±1v along orthonormal u = (1, 1)/√2, v = (1, −1)/√2, plus a 0 third coordinate:
        // covariance eigenvalues 2·9/3 = 6 along u and 2·1/3 = 2/3 along v (n − 1 = 3).
        let r = 1 / 2.0.squareRoot()
        let x = Matrix<Double>([[3 * r, 3 * r, 0], [-3 * r, -3 * r, 0], [r, -r, 0], [-r, r, 0]])
        let pca = PrincipalComponents(fitting: x, count: 2)
        #expect(abs(pca.variances[0] - 6) < 1e-9)
        #expect(abs(pca.variances[1] - 2.0 / 3) < 1e-9)
        #expect(abs(pca.totalVariance - 20.0 / 3) < 1e-12)
        #expect(abs(abs(pca.components[0, 0]) - r) < 1e-9 && abs(abs(pca.components[0, 1]) - r) < 1e-9)
        #expect(abs(pca.components[0, 0] * pca.components[0, 1] - 0.5) < 1e-9) // same sign: along u
        #expect(abs(pca.components[1, 0] * pca.components[1, 1] + 0.5) < 1e-9) // opposite signs: along v
        let projected = pca.project(x)
        #expect(abs(abs(projected[0, 0]) - 3) < 1e-9 && abs(projected[0, 1]) < 1e-9)
    }

    @Test func componentsAreOrthonormalEigenvectors() {
        var g = SeededGenerator(seed: 3)
        let base: Matrix<Float> = g.normalMatrix(rows: 60, columns: 5)
        // Stretch the coordinates so the spectrum is well separated.
        let x = Matrix<Float>(rows: 60, columns: 5) { i, j in base[i, j] * Float(5 - j) + Float(j) }
        let pca = PrincipalComponents(fitting: x, count: 2, seed: 9)
        // Reference covariance computed directly, elementwise, in Double.
        let xd = x.converted(to: Double.self)
        var c = Matrix<Double>(rows: 5, columns: 5)
        for a in 0..<5 {
            for b in 0..<5 {
                var s = 0.0
                for i in 0..<60 { s += (xd[i, a] - pca.mean[a]) * (xd[i, b] - pca.mean[b]) }
                c[a, b] = s / 59
            }
        }
        for k in 0..<2 {
            let v = Matrix<Double>(rows: 5, columns: 1, elements: pca.components.row(k))
            let cv = Matrix.product(c, v)
            for j in 0..<5 { #expect(abs(cv[j, 0] - pca.variances[k] * v[j, 0]) < 1e-8 * pca.variances[0]) }
            #expect(abs(v.elements.reduce(0) { $0 + $1 * $1 } - 1) < 1e-12)
        }
        let dot = zip(pca.components.row(0), pca.components.row(1)).reduce(0.0) { $0 + $1.0 * $1.1 }
        #expect(abs(dot) < 1e-8)
        #expect(pca.variances[0] >= pca.variances[1])
        // Deterministic for a seed.
        #expect(PrincipalComponents(fitting: x, count: 2, seed: 9).components == pca.components)
    }
}

@Suite struct RetrievalSampleTests {
    @Test func neighboursMatchBruteForce() {
        var g = SeededGenerator(seed: 5)
        let x: Matrix<Float> = g.normalMatrix(rows: 40, columns: 3)
        let labels = (0..<40).map { $0 % 4 }
        let sample = RetrievalSample(embeddings: x, labels: labels, queryCount: 7, neighbourCount: 5, seed: 11)
        #expect(sample.queries.count == 7)
        #expect(Set(sample.queries.map(\.index)).count == 7)
        #expect(sample.queries.map(\.index) == sample.queries.map(\.index).sorted())
        for q in sample.queries {
            var reference = [(distance: Double, index: Int)]()
            for j in 0..<40 where j != q.index {
                let d = (0..<3).reduce(0.0) { $0 + pow(Double(x[q.index, $1]) - Double(x[j, $1]), 2) }.squareRoot()
                reference.append((d, j))
            }
            reference.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
            #expect(q.neighbours.map(\.index) == reference.prefix(5).map(\.index))
            for (n, r) in zip(q.neighbours, reference) {
                #expect(abs(n.distance - r.distance) < 1e-4)
                #expect(n.isCorrect == (labels[n.index] == labels[q.index]))
            }
        }
        let again = RetrievalSample(embeddings: x, labels: labels, queryCount: 7, neighbourCount: 5, seed: 11)
        #expect(again.queries == sample.queries)
    }

    @Test func smallSetsAreClamped() {
        let x = Matrix<Float>([[0, 0], [1, 0], [0, 3]])
        let s = RetrievalSample(embeddings: x, labels: [1, 1, 2], queryCount: 16, neighbourCount: 8)
        #expect(s.queries.count == 3)
        #expect(s.queries.allSatisfy { $0.neighbours.count == 2 })
        #expect(s.queries[0].neighbours.map(\.index) == [1, 2])
        #expect(s.queries[0].neighbours[0].isCorrect && !s.queries[0].neighbours[1].isCorrect)
    }
}
