import DMLNumerics
import Testing
@testable import DMLEvaluation

@Suite("Recall@K, MAP@R and R-precision")
struct RetrievalScoresTests {
    /// 1-D points 0, 1, 3, 4, 10 with labels 0, 0, 1, 0, 1 (worked out by hand in the comments).
    let points = Matrix<Float>([[0], [1], [3], [4], [10]])
    let labels = [0, 0, 1, 0, 1]

    @Test("Leave-one-out values computed by hand")
    func handComputedLeaveOneOut() throws {
        // Neighbour labels (nearest first) and R per query:
        //   q0: [0,1,0,1] R=2 → first hit 1, AP = (1/1)/2 = 0.5,  RP = 1/2
        //   q1: [0,1,0,1] R=2 → first hit 1, AP = 0.5,            RP = 1/2
        //   q2: [0,0,0,1] R=1 → first hit 4, AP = 0,              RP = 0
        //   q3: [1,0,0,1] R=2 → first hit 2, AP = (1/2)/2 = 0.25, RP = 1/2
        //   q4: [0,1,0,0] R=1 → first hit 2, AP = 0,              RP = 0
        let nn = try NearestNeighbours.leaveOneOut(points, k: 4)
        let scores = try RetrievalScores.compute(neighbours: nn, queryLabels: labels, referenceLabels: labels,
                                                 recallKs: [1, 2, 3, 4], leaveOneOut: true)
        #expect(scores.recallAtK.map(\.k) == [1, 2, 3, 4])
        #expect(scores.recallAtK.map(\.value) == [0.4, 0.8, 0.8, 1.0])
        #expect(abs(scores.mapAtR - 0.25) < 1e-12)
        #expect(abs(scores.rPrecision - 0.3) < 1e-12)
        #expect(scores.evaluatedQueries == 5 && scores.excludedQueries == 0)
    }

    @Test("Separate query and reference sets, with R = 3 and a query of an absent class")
    func separateSets() throws {
        // References at 1…5 with labels A B A A B; query 0 (class A) ranks them in order:
        // rel = 1 0 1 | 1 0, R = 3 → AP = (1/1 + 2/3)/3 = 5/9, RP = 2/3, first hit 1.
        // Query 100 (class C) has no reference of its class: excluded from every average.
        let references = Matrix<Float>([[1], [2], [3], [4], [5]])
        let referenceLabels = [0, 1, 0, 0, 1]
        let queries = Matrix<Float>([[0], [100]])
        let nn = try NearestNeighbours.search(queries: queries, references: references, k: 3)
        let scores = try RetrievalScores.compute(neighbours: nn, queryLabels: [0, 2], referenceLabels: referenceLabels,
                                                 recallKs: [1], leaveOneOut: false)
        #expect(abs(scores.mapAtR - 5.0 / 9.0) < 1e-12)
        #expect(abs(scores.rPrecision - 2.0 / 3.0) < 1e-12)
        #expect(scores.recallAtK == [RetrievalScores.RecallValue(k: 1, value: 1)])
        #expect(scores.evaluatedQueries == 1 && scores.excludedQueries == 1)
    }

    @Test("Ties: the lower-index neighbour decides Recall@1")
    func tiesDecideRecall() throws {
        // Query 0 at 0 has references 1 (label 1) and 2 (label 0), both at distance 1.
        let x = Matrix<Float>([[0], [1], [-1]])
        let nn = try NearestNeighbours.leaveOneOut(x, k: 2)
        let scores = try RetrievalScores.compute(neighbours: nn, queryLabels: [0, 1, 0], referenceLabels: [0, 1, 0],
                                                 recallKs: [1, 2], leaveOneOut: true)
        // q0: neighbours [1, 2] → labels [1, 0]: miss at 1, hit at 2, R = 1 → AP 0.
        // q1 (label 1, singleton class): excluded. q2: neighbours [0, 1] → hit at 1, AP 1.
        #expect(scores.recallAtK.map(\.value) == [0.5, 1.0])
        #expect(scores.mapAtR == 0.5 && scores.rPrecision == 0.5)
        #expect(scores.excludedQueries == 1)
    }

    @Test("Undefined cases are errors")
    func errors() throws {
        let nn = try NearestNeighbours.leaveOneOut(points, k: 1)
        #expect(throws: EvaluationError.tooFewReferences(needed: 2, available: 1, reason: "Recall@K and MAP@R")) {
            try RetrievalScores.compute(neighbours: nn, queryLabels: labels, referenceLabels: labels,
                                        recallKs: [1], leaveOneOut: true)
        }
        let all = try NearestNeighbours.leaveOneOut(points, k: 4)
        #expect(throws: EvaluationError.noRelevantReferences) {
            try RetrievalScores.compute(neighbours: all, queryLabels: [0, 1, 2, 3, 4], referenceLabels: [0, 1, 2, 3, 4],
                                        recallKs: [1], leaveOneOut: true)
        }
        #expect(throws: EvaluationError.countMismatch(name: "query labels", expected: 5, actual: 2)) {
            try RetrievalScores.compute(neighbours: all, queryLabels: [0, 1], referenceLabels: labels,
                                        recallKs: [1], leaveOneOut: true)
        }
        #expect(throws: EvaluationError.self) {
            try RetrievalScores.compute(neighbours: all, queryLabels: labels, referenceLabels: labels,
                                        recallKs: [0], leaveOneOut: true)
        }
        #expect(throws: EvaluationError.self) {
            try RetrievalScores.compute(neighbours: all, queryLabels: labels, referenceLabels: labels,
                                        recallKs: [1, 1], leaveOneOut: true)
        }
    }
}
