import DMLNumerics

/// A cross-batch memory (Wang et al., CVPR 2020): a FIFO queue of the last `capacity` batch
/// embeddings with their labels, held without gradient.
///
/// `enqueue` appends a batch after the step that produced it. While the queue is filling, rows
/// are appended in order; once it holds `capacity` rows, each new row overwrites the oldest one
/// (slot `head`, then `head + 1`, … wrapping around). A batch larger than the capacity keeps
/// its last `capacity` rows. `points` exposes the slots in slot order (row `k` = slot `k`) with
/// no copy; that order is part of the state (it decides arg-min ties), so `head` is saved with
/// the contents and a restored queue continues bit-exactly (`Codable`, or `init(capacity:
/// embeddings:labels:head:)` from the exported `embeddings`, `labels` and `head`).
public struct CrossBatchMemory<T: BLASScalar>: Sendable {
    /// The most embeddings the queue holds (≥ 1).
    public let capacity: Int
    /// The stored embeddings, `count × d`, in slot order.
    public private(set) var embeddings: Matrix<T>
    /// The label of every slot.
    public private(set) var labels: [Int]
    /// The slot the next enqueued row overwrites once the queue is full (the oldest row); equal
    /// to `count` modulo `capacity` while it fills.
    public private(set) var head: Int

    /// An empty queue of `capacity` embeddings of dimension `dimension`.
    public init(capacity: Int, dimension: Int) throws {
        guard capacity >= 1 else {
            throw MetricLearningError.invalidOption(name: "memory", value: "\(capacity)", expected: "a queue size ≥ 1")
        }
        guard dimension >= 1 else {
            throw MetricLearningError.invalidOption(name: "memory dimension", value: "\(dimension)", expected: "≥ 1")
        }
        self.capacity = capacity
        self.embeddings = Matrix(rows: 0, columns: dimension)
        self.labels = []
        self.head = 0
    }

    /// A queue restored from its exported state (`embeddings`, `labels`, `head`).
    ///
    /// - Throws: `invalidOption` when there are more rows than `capacity`, `head` is out of
    ///   range, or the labels do not match; `nonFinite` for a NaN or infinite embedding.
    public init(capacity: Int, embeddings: Matrix<T>, labels: [Int], head: Int) throws {
        try self.init(capacity: capacity, dimension: max(1, embeddings.columns))
        try MetricLearningError.validate(embeddings, labels: labels)
        guard embeddings.rows <= capacity else {
            throw MetricLearningError.invalidOption(name: "memory rows", value: "\(embeddings.rows)",
                                                    expected: "at most the capacity \(capacity)")
        }
        let expectedHead = embeddings.rows == capacity ? nil : embeddings.rows % capacity
        guard (0..<capacity).contains(head), expectedHead == nil || head == expectedHead! else {
            throw MetricLearningError.invalidOption(
                name: "memory head", value: "\(head)",
                expected: expectedHead.map { "\($0) for a queue holding \(embeddings.rows) of \(capacity) rows" }
                    ?? "a slot in 0..<\(capacity)")
        }
        self.embeddings = embeddings
        self.labels = labels
        self.head = head
    }

    /// The number of stored embeddings (≤ `capacity`).
    public var count: Int { labels.count }

    /// The embedding dimension `d`.
    public var dimension: Int { embeddings.columns }

    /// The stored embeddings and labels as loss reference points, in slot order (no copy).
    public var points: MemoryPoints<T> { MemoryPoints(unchecked: embeddings, labels: labels) }

    /// The stored rows from the oldest to the newest.
    public var chronological: (embeddings: Matrix<T>, labels: [Int]) {
        guard count == capacity, head != 0 else { return (embeddings, labels) }
        let order = Array(head..<capacity) + Array(0..<head)
        return (embeddings.gatheringRows(order), order.map { labels[$0] })
    }

    /// Appends the rows of a batch (a copy: no gradient), overwriting the oldest rows when full.
    ///
    /// - Throws: `labelCountMismatch`, `nonFinite`, or `invalidOption` for a batch of another
    ///   dimension.
    public mutating func enqueue(_ batch: Matrix<T>, labels batchLabels: [Int]) throws {
        try MetricLearningError.validate(batch, labels: batchLabels)
        guard batch.columns == dimension else {
            throw MetricLearningError.invalidOption(name: "memory dimension", value: "\(batch.columns)",
                                                    expected: "the queue's dimension \(dimension)")
        }
        let d = dimension
        let skip = max(0, batch.rows - capacity)  // rows that would be overwritten at once
        var elements = embeddings.elements
        embeddings = Matrix(rows: 0, columns: d)  // drop the second reference: `elements` is mutated in place
        batch.withUnsafeBufferPointer { pb in
            for r in skip..<batch.rows {
                let source = pb[(r * d)..<((r + 1) * d)]
                if labels.count < capacity {
                    elements.append(contentsOf: source)
                    labels.append(batchLabels[r])
                } else {
                    elements.replaceSubrange((head * d)..<((head + 1) * d), with: source)
                    labels[head] = batchLabels[r]
                }
                head = (head + 1) % capacity
            }
        }
        embeddings = Matrix(rows: labels.count, columns: d, elements: elements)
    }
}

extension CrossBatchMemory: Equatable {}

extension CrossBatchMemory: Codable {
    private enum CodingKeys: String, CodingKey { case capacity, dimension, embeddings, labels, head }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let capacity = try c.decode(Int.self, forKey: .capacity)
        let dimension = try c.decode(Int.self, forKey: .dimension)
        let elements = try c.decode([T].self, forKey: .embeddings)
        let labels = try c.decode([Int].self, forKey: .labels)
        let (size, overflow) = labels.count.multipliedReportingOverflow(by: dimension)
        guard !overflow, size == elements.count else {
            throw DecodingError.dataCorruptedError(forKey: .embeddings, in: c, debugDescription:
                "expected \(labels.count) × \(dimension) embedding values, found \(elements.count)")
        }
        do {
            if labels.isEmpty {
                self = try CrossBatchMemory(capacity: capacity, dimension: dimension)
                let head = try c.decode(Int.self, forKey: .head)
                guard head == 0 else {
                    throw MetricLearningError.invalidOption(name: "memory head", value: "\(head)", expected: "0 for an empty queue")
                }
            } else {
                self = try CrossBatchMemory(capacity: capacity,
                                            embeddings: Matrix(rows: labels.count, columns: dimension, elements: elements),
                                            labels: labels, head: try c.decode(Int.self, forKey: .head))
            }
        } catch let error as MetricLearningError {
            throw DecodingError.dataCorruptedError(forKey: .head, in: c, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(capacity, forKey: .capacity)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(embeddings.elements, forKey: .embeddings)
        try c.encode(labels, forKey: .labels)
        try c.encode(head, forKey: .head)
    }
}
