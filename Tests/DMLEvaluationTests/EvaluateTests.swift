import DMLNumerics
import DMLTestSupport
import Foundation
import Testing
@testable import DMLEvaluation

@Suite("evaluate and EvaluationResult")
struct EvaluateTests {
    @Test("Leave-one-out evaluation equals its parts, and encodes with the log.jsonl keys")
    func leaveOneOut() throws {
        let (x, labels) = BatchFactory.batch(classes: 6, perClass: 5, dimension: 8, seed: 2, spread: 1.2)
        let embeddings = x.converted(to: Float.self)
        var options = EvaluationOptions(recallKs: [1, 2, 4, 8])
        options.search = NeighbourSearchOptions(queryBlockSize: 7, referenceBlockSize: 11)
        let result = try evaluate(embeddings: embeddings, labels: labels, options: options)

        let nn = try NearestNeighbours.leaveOneOut(embeddings, k: 8)
        let retrieval = try RetrievalScores.compute(neighbours: nn, queryLabels: labels, referenceLabels: labels,
                                                    recallKs: [1, 2, 4, 8], leaveOneOut: true)
        #expect(result.retrieval == retrieval)
        let kMeans = try KMeans.run(embeddings, clusters: 6, options: options.kMeans)
        #expect(result.clusterAssignments == kMeans.assignments)
        #expect(result.clustering == (try ClusteringScores.compute(clusters: kMeans.assignments, classes: labels)))
        #expect(result.clusters == 6 && result.queries == 30 && result.references == 30)

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        for key in ["recall@1", "recall@2", "recall@4", "recall@8", "map@r", "r_precision", "nmi", "f1"] {
            #expect(json[key] is Double, "key \(key)")
        }
        #expect(json["recall@1"] as? Double == result.recall(at: 1))
        var decoded = try JSONDecoder().decode(EvaluationResult.self, from: JSONEncoder().encode(result))
        #expect(decoded.retrieval == result.retrieval && decoded.clustering?.nmi == result.clustering?.nmi)
        decoded.clustering = result.clustering
        decoded.clusterAssignments = result.clusterAssignments
        #expect(decoded == result)
    }

    @Test("Ranking only the first R neighbours gives the same Recall@K as a full sort")
    func partialOrderMatchesFullSort() throws {
        var rng = SeededGenerator(seed: 21)
        let x: Matrix<Float> = rng.normalMatrix(rows: 200, columns: 4)
        let labels = (0..<200).map { $0 % 40 }  // R = 4, so the first hit is often far beyond R
        let options = EvaluationOptions(recallKs: [1, 5, 20, 100], clustering: false,
                                        search: NeighbourSearchOptions(queryBlockSize: 64, referenceBlockSize: 50))
        let result = try evaluate(embeddings: x, labels: labels, options: options)
        let nn = try NearestNeighbours.leaveOneOut(x, k: 100, options: options.search)
        let full = try RetrievalScores.compute(neighbours: nn, queryLabels: labels, referenceLabels: labels,
                                               recallKs: [1, 5, 20, 100], leaveOneOut: true)
        #expect(result.retrieval == full)
        #expect(full.recallAtK[0].value < full.recallAtK[2].value)
    }

    @Test("Without clustering NMI and F1 are null; separate query and reference sets")
    func separateWithoutClustering() throws {
        let references = Matrix<Float>([[0, 0], [0, 1], [5, 5], [5, 6]])
        let queries = Matrix<Float>([[0, 0.4], [5, 5.4], [9, 9]])
        let result = try evaluate(queries: queries, queryLabels: [0, 1, 7], references: references,
                                  referenceLabels: [0, 0, 1, 1],
                                  options: EvaluationOptions(recallKs: [1], clustering: false))
        #expect(result.recall(at: 1) == 1 && result.retrieval.mapAtR == 1)
        #expect(result.retrieval.excludedQueries == 1)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as! [String: Any]
        #expect(json["nmi"] is NSNull && json["f1"] is NSNull)
    }

    @Test("Bad input: counts, K too large, non-finite, dimension mismatch")
    func badInput() {
        let x = Matrix<Float>([[0], [1], [2]])
        #expect(throws: EvaluationError.countMismatch(name: "labels", expected: 3, actual: 2)) {
            try evaluate(embeddings: x, labels: [0, 0])
        }
        #expect(throws: EvaluationError.tooFewReferences(needed: 8, available: 2, reason: "Recall@8")) {
            try evaluate(embeddings: x, labels: [0, 0, 1])
        }
        #expect(throws: EvaluationError.nonFinite(name: "query embeddings", row: 0, column: 0)) {
            try evaluate(queries: Matrix<Float>([[.nan]]), queryLabels: [0], references: x, referenceLabels: [0, 0, 1])
        }
        #expect(throws: EvaluationError.dimensionMismatch(queries: 2, references: 1)) {
            try evaluate(queries: Matrix<Float>([[0, 1]]), queryLabels: [0], references: x, referenceLabels: [0, 0, 1])
        }
        #expect(throws: EvaluationError.invalidOption(name: "clusters", reason: "expected 1...3 (the number of clustered rows), got 9")) {
            try evaluate(embeddings: x, labels: [0, 0, 1], options: EvaluationOptions(recallKs: [1], clusters: 9))
        }
    }
}
