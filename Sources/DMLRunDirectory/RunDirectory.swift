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
    /// `metrics.json`, numeric members only (the metrics and `iteration`); nil before the run
    /// finished.
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
            throw RunFormatError(source: path, reason: "not a run directory (it does not exist or is not a directory)")
        }
        func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

        config = try JSONValue.read(from: file(RunFiles.configuration))
        guard config.object != nil else {
            throw RunFormatError(source: file(RunFiles.configuration), reason: "expected a JSON object")
        }
        log = exists(RunFiles.log) ? try RunLog(contentsOf: file(RunFiles.log)) : RunLog(path: file(RunFiles.log))
        let final = exists(RunFiles.metrics) ? try RunMetrics(contentsOf: file(RunFiles.metrics)) : nil
        metrics = final?.numericMembers
        baseline = final?.baseline ?? log.baseline?.metrics
        classNames = exists(RunFiles.testClasses) ? try TestClassList.names(contentsOf: file(RunFiles.testClasses)) : nil

        let embeddingsPath = file(RunFiles.testEmbeddings)
        let labelsPath = file(RunFiles.testLabels)
        if exists(RunFiles.testEmbeddings) {
            let matrix: Matrix<Float> = try NPYArray.read(from: embeddingsPath).matrix(source: embeddingsPath)
            guard exists(RunFiles.testLabels) else {
                throw RunFormatError(source: labelsPath, reason: "missing: the embeddings need their labels")
            }
            let labels = try NPYArray.read(from: labelsPath).labels(source: labelsPath)
            guard labels.count == matrix.rows else {
                throw RunFormatError(source: labelsPath, reason: "\(labels.count) labels for \(matrix.rows) embeddings")
            }
            if let k = matrix.firstNonFinite {
                throw RunFormatError(source: embeddingsPath, reason: "element (\(k.row), \(k.column)) is not finite")
            }
            embeddings = matrix
            self.labels = labels
        } else {
            embeddings = nil
            labels = nil
        }
        let thumbnailsPath = file(RunFiles.testThumbnails)
        if let embeddings, exists(RunFiles.testThumbnails) {
            let t = try Thumbnails(NPYArray.read(from: thumbnailsPath), source: thumbnailsPath)
            guard t.count == embeddings.rows else {
                throw RunFormatError(source: thumbnailsPath, reason: "\(t.count) thumbnails for \(embeddings.rows) embeddings")
            }
            thumbnails = t
        } else {
            thumbnails = nil
        }
    }
}
