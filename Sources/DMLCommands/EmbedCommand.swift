import ArgumentParser
import Foundation
import DMLNumerics
import DMLNetworks
import DMLTraining
import DMLData

extension DataSplit: ExpressibleByArgument {}

/// `dml embed`: writes the embeddings of a dataset split computed by a trained checkpoint.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed a dataset split with a trained checkpoint and write the embeddings (and labels) as .npy."
    )

    @Option(name: .long, help: "A checkpoint written by dml train (checkpoints/best.ckpt or last.ckpt).")
    var checkpoint: String

    @Option(name: .long, help: "Dataset name (default: the checkpoint's).")
    var dataset: String?

    @Option(name: .customLong("data-root"), help: "Where the dataset is (default: the checkpoint's).")
    var dataRoot: String?

    @Option(name: .long, help: "Which split: train or test.")
    var split: DataSplit = .test

    @Option(name: .long, help: "Output .npy file of embeddings (float32, N × d).")
    var out: String

    @Option(name: .customLong("labels-out"), help: "Output .npy file of labels (int64); default: OUT with _labels before .npy.")
    var labelsOut: String?

    @Option(name: .long, help: "Compute threads (default: the machine's cores): the layers' pool (OpenBLAS single-threaded, as in dml train).")
    var threads: Int = ThreadBudget.availableCores

    /// Refuses an output path that is a folder, and the same path for both outputs.
    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if out == resolvedLabelsPath {
            throw ValidationError("--labels-out must differ from --out (\(out))")
        }
    }

    /// Where the labels go: `--labels-out`, or `OUT` with `_labels` before `.npy`.
    var resolvedLabelsPath: String {
        labelsOut ?? (out.hasSuffix(".npy") ? String(out.dropLast(4)) + "_labels.npy" : out + "_labels.npy")
    }

    /// Loads the checkpoint and the data, checks that the data fit the network (same
    /// per-sample shape, images for an image network), embeds, and writes both files or
    /// neither. Returns the JSON line to print.
    func execute() throws -> String {
        let (model, saved, inputShape, isImageData) = try Trainer.loadModel(checkpoint: checkpoint)
        var data = saved.dataset
        if let dataset { data.name = dataset }
        if let dataRoot { data.root = dataRoot }
        let loaded = try data.load()
        let chosen = loaded.split(split)
        guard chosen.sampleShape == inputShape else {
            let kind = { (image: Bool, s: SampleShape) in image ? "\(s.channels)×\(s.height)×\(s.width) images" : "\(s.channels)-dimensional feature vectors" }
            throw TrainingError.invalidCheckpoint(
                file: checkpoint,
                reason: "the model was trained on \(kind(isImageData, inputShape)) (dataset \(saved.dataset.name)), but the \(split.rawValue) split of \(data.name)\(data.root.isEmpty ? "" : " at \(data.root)") has \(kind(chosen.isImageData, chosen.sampleShape)); embed data of the shape the model was trained on")
        }
        model.use(pool: ThreadPool(threads: threads))
        let embeddings = try BLASThreads.with(1) { try EmbeddingNetwork.embed(chosen, with: model) }
        let labelsPath = resolvedLabelsPath
        try AtomicFile.writeAll([(NPYArray(embeddings).encoded(), out), (NPYArray(labels: chosen.labels).encoded(), labelsPath)])
        let json = try JSONSerialization.data(withJSONObject: ["embeddings": out, "labels": labelsPath, "rows": embeddings.rows,
                                                               "dimension": embeddings.columns] as [String: Any],
                                              options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: json, as: UTF8.self)
    }

    func run() throws {
        print(try execute())
    }
}
