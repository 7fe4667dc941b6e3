import ArgumentParser
import Foundation
import DMLNumerics
import DMLTraining

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
    var split: String = "test"

    @Option(name: .long, help: "Output .npy file of embeddings (float32, N × d).")
    var out: String

    @Option(name: .customLong("labels-out"), help: "Output .npy file of labels (int64); default: OUT with _labels before .npy.")
    var labelsOut: String?

    func run() throws {
        guard split == "train" || split == "test" else {
            throw ValidationError("--split must be train or test, not \(split)")
        }
        let (model, saved) = try Trainer.loadModel(checkpoint: checkpoint)
        var data = saved.dataset
        if let dataset { data.name = dataset }
        if let dataRoot { data.root = dataRoot }
        // The checkpoint's backbone decides the input normalization.
        let loaded = try data.load(normalization: saved.model.architecture.inputNormalization)
        let chosen = split == "train" ? loaded.train : loaded.test
        let embeddings = try EmbeddingNetwork.embed(chosen, with: model)
        let labelsPath = labelsOut ?? (out.hasSuffix(".npy") ? String(out.dropLast(4)) + "_labels.npy" : out + "_labels.npy")
        try NPYArray(embeddings).write(to: out)
        try NPYArray(labels: chosen.labels).write(to: labelsPath)
        print("{\"embeddings\": \"\(out)\", \"labels\": \"\(labelsPath)\", \"rows\": \(embeddings.rows), \"dimension\": \(embeddings.columns)}")
    }
}
