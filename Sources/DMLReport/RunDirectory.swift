import DMLNumerics
import Foundation

/// A training run directory read back from disk (the format is fixed in docs/RUN_DIRECTORY.md).
///
/// `config.json` is required. The log, the final metrics and the embeddings are optional, so a
/// report can be made of a run still in progress; whatever is missing is said in the report.
public struct RunDirectory: Sendable {
    /// The directory path.
    public let path: String
    /// `config.json`.
    public let config: JSONValue
    /// `log.jsonl` (empty when the file does not exist yet).
    public let log: RunLog
    /// `metrics.json`, numeric members only; nil before the run finished.
    public let metrics: [String: Double]?
    /// The metrics of the raw test inputs: `metrics.json`'s `"baseline"` object, or the log's
    /// `baseline` record while the run is in progress; nil when neither exists.
    public let baseline: [String: Double]?
    /// The name of each test label (`embeddings/test_classes.json`); nil when absent.
    public let classNames: [Int: String]?
    /// `embeddings/test_embeddings.npy`, N × d; nil when absent.
    public let embeddings: Matrix<Float>?
    /// `embeddings/test_labels.npy`, N labels; nil when absent.
    public let labels: [Int]?
    /// `embeddings/test_thumbnails.npy`; nil when absent.
    public let thumbnails: Thumbnails?

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Reads the directory. Errors name the file and the field or line at fault.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ReportError(source: path, reason: "not a run directory (it does not exist or is not a directory)")
        }
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

        config = try JSONValue.read(from: file("config.json"))
        guard config.object != nil else {
            throw ReportError(source: file("config.json"), reason: "expected a JSON object")
        }
        log = exists("log.jsonl") ? try RunLog(contentsOf: file("log.jsonl")) : RunLog()
        metrics = exists("metrics.json") ? try RunDirectory.readMetrics(file("metrics.json")) : nil
        let finalBaseline = exists("metrics.json") ? try RunDirectory.readBaseline(file("metrics.json")) : nil
        baseline = finalBaseline ?? log.baseline?.metrics
        classNames = exists("embeddings/test_classes.json") ? try RunDirectory.readClassNames(file("embeddings/test_classes.json")) : nil

        let embeddingsPath = file("embeddings/test_embeddings.npy")
        let labelsPath = file("embeddings/test_labels.npy")
        if exists("embeddings/test_embeddings.npy") {
            let matrix: Matrix<Float> = try NPYArray.read(from: embeddingsPath).matrix(source: embeddingsPath)
            guard exists("embeddings/test_labels.npy") else {
                throw ReportError(source: labelsPath, reason: "missing: the embeddings need their labels")
            }
            let labels = try NPYArray.read(from: labelsPath).labels(source: labelsPath)
            guard labels.count == matrix.rows else {
                throw ReportError(source: labelsPath, reason: "\(labels.count) labels for \(matrix.rows) embeddings")
            }
            if let k = matrix.firstNonFinite {
                throw ReportError(source: embeddingsPath, reason: "element (\(k.row), \(k.column)) is not finite")
            }
            embeddings = matrix
            self.labels = labels
        } else {
            embeddings = nil
            labels = nil
        }
        let thumbnailsPath = file("embeddings/test_thumbnails.npy")
        if let embeddings, exists("embeddings/test_thumbnails.npy") {
            let t = try Thumbnails(NPYArray.read(from: thumbnailsPath), source: thumbnailsPath)
            guard t.count == embeddings.rows else {
                throw ReportError(source: thumbnailsPath, reason: "\(t.count) thumbnails for \(embeddings.rows) embeddings")
            }
            thumbnails = t
        } else {
            thumbnails = nil
        }
    }

    /// The numeric members of the `"baseline"` object of `metrics.json`; nil when it has none.
    public static func readBaseline(_ path: String) throws -> [String: Double]? {
        guard case .object(let members) = try JSONValue.read(from: path) else {
            throw ReportError(source: path, reason: "expected a JSON object of metric values")
        }
        switch members["baseline"] {
        case nil, .null?: return nil
        case .object(let baseline)?: return baseline.compactMapValues { $0.number }
        default: throw ReportError(source: "\(path): field \"baseline\"", reason: "expected an object of metric values")
        }
    }

    /// The label → name map of `embeddings/test_classes.json`
    /// (`{"classes": [{"label": 0, "name": "Sandal", …}, …]}`).
    public static func readClassNames(_ path: String) throws -> [Int: String] {
        guard case .object(let members) = try JSONValue.read(from: path), case .array(let entries)? = members["classes"] else {
            throw ReportError(source: path, reason: "expected an object with a \"classes\" array")
        }
        var names = [Int: String]()
        for (position, entry) in entries.enumerated() {
            let field = "\(path): classes[\(position)]"
            guard case .object(let e) = entry else { throw ReportError(source: field, reason: "expected an object") }
            guard let label = e["label"]?.number, label == label.rounded(), abs(label) < 9e15 else {
                throw ReportError(source: field + ".label", reason: "expected an integer label")
            }
            guard let name = e["name"]?.string else { throw ReportError(source: field + ".name", reason: "expected a string") }
            guard names.updateValue(name, forKey: Int(label)) == nil else {
                throw ReportError(source: field + ".label", reason: "label \(Int(label)) appears twice")
            }
        }
        return names
    }

    /// The numeric members of the JSON object in `metrics.json`.
    public static func readMetrics(_ path: String) throws -> [String: Double] {
        guard case .object(let members) = try JSONValue.read(from: path) else {
            throw ReportError(source: path, reason: "expected a JSON object of metric values")
        }
        return members.compactMapValues { $0.number }
    }
}
