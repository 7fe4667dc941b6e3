import Foundation

/// `metrics.json`: the final evaluation of a run on its held-out classes. Its presence marks the
/// run as finished, so it is written last.
///
/// One pretty-printed, key-sorted JSON object: the metric keys of an `eval` record
/// (`recall@K`, `map@r`, `r_precision`, `nmi`, `f1`), `"iteration"`, and `"baseline"`, an object
/// with the same keys for the raw test inputs (absent when the baseline is off).
public struct RunMetrics: Sendable, Equatable {
    /// The metric values.
    public var metrics: [String: Double]
    /// The iteration the final evaluation was made at (nil when the file does not say).
    public var iteration: Int?
    /// The raw-input baseline's metrics, nil when absent.
    public var baseline: [String: Double]?

    /// Final metrics.
    public init(metrics: [String: Double], iteration: Int?, baseline: [String: Double]? = nil) {
        self.metrics = metrics
        self.iteration = iteration
        self.baseline = baseline
    }

    /// The numeric members of the file's object: the metrics and `iteration` (what a report
    /// tabulates).
    public var numericMembers: [String: Double] {
        var out = metrics
        if let iteration { out["iteration"] = Double(iteration) }
        return out
    }

    /// The file's bytes.
    public func encoded() throws -> Data {
        var object: [String: Any] = metrics
        if let iteration { object["iteration"] = iteration }
        if let baseline { object["baseline"] = baseline }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Reads `metrics.json`: every numeric member except `iteration` is a metric; a non-numeric
    /// member other than `baseline` is ignored; `baseline` must be an object (or null).
    public init(contentsOf path: String) throws {
        guard case .object(var members) = try JSONValue.read(from: path) else {
            throw RunFormatError(source: path, reason: "expected a JSON object of metric values")
        }
        switch members.removeValue(forKey: "baseline") {
        case nil, .null?: baseline = nil
        case .object(let b)?: baseline = b.compactMapValues { $0.number }
        default: throw RunFormatError(source: "\(path): field \"baseline\"", reason: "expected an object of metric values")
        }
        switch members.removeValue(forKey: "iteration") {
        case nil, .null?: iteration = nil
        case let value?:
            guard let i = value.integer else {
                throw RunFormatError(source: "\(path): field \"iteration\"", reason: "expected an integer")
            }
            iteration = i
        }
        metrics = members.compactMapValues { $0.number }
    }
}

/// `embeddings/test_classes.json`: the held-out classes, so a report can name them —
/// `{"classes": [{"label": 0, "original_id": 5, "name": "Sandal"}, …]}`, one entry per label of
/// `embeddings/test_labels.npy`, in label order, with the class id and name in the dataset's
/// own files.
public enum TestClassList {
    /// The file's bytes for `classes` (entry `k` is label `k`), pretty-printed, keys sorted.
    public static func encoded(_ classes: [(originalID: Int, name: String)]) throws -> Data {
        let entries: [[String: Any]] = classes.enumerated().map { label, c in
            ["label": label, "original_id": c.originalID, "name": c.name]
        }
        return try JSONSerialization.data(withJSONObject: ["classes": entries],
                                          options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// The label → name map of the file at `path`; each entry needs an integer `label` (no
    /// label twice) and a string `name`.
    public static func names(contentsOf path: String) throws -> [Int: String] {
        guard case .object(let members) = try JSONValue.read(from: path), case .array(let entries)? = members["classes"] else {
            throw RunFormatError(source: path, reason: "expected an object with a \"classes\" array")
        }
        var names = [Int: String]()
        for (position, entry) in entries.enumerated() {
            let field = "\(path): classes[\(position)]"
            guard case .object(let e) = entry else { throw RunFormatError(source: field, reason: "expected an object") }
            guard let label = e["label"]?.integer else {
                throw RunFormatError(source: field + ".label", reason: "expected an integer label")
            }
            guard let name = e["name"]?.string else { throw RunFormatError(source: field + ".name", reason: "expected a string") }
            guard names.updateValue(name, forKey: label) == nil else {
                throw RunFormatError(source: field + ".label", reason: "label \(label) appears twice")
            }
        }
        return names
    }
}
