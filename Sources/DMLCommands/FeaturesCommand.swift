import ArgumentParser
import Foundation
import DMLNumerics
import DMLNetworks
import DMLBackbones
import DMLData
import DMLTraining

/// `dml features`: the pooled features of a frozen ImageNet backbone for one split of a dataset,
/// as `.npy` (the fast route: `dml train --dataset npy` then trains an embedding head on them).
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write the pooled features of a frozen ImageNet backbone (evaluation mode) for a dataset split as .npy.",
        discussion: """
        The images get the test pipeline (shorter side resized to --resize, centre crop of \
        --image-size) and the backbone's own input normalization. Features (float32, N × F: 1280 \
        for efficientnet-lite0, 512 resnet18, 2048 resnet50, 1024 googlenet) and labels (int64, \
        the dataset's own class ids, so the splits stay class-disjoint) are written atomically. \
        Write the two splits into one folder as train_features.npy, train_labels.npy, \
        test_features.npy, test_labels.npy to train a head with dml train --dataset npy.
        """
    )

    @Option(name: .long, help: "efficientnet-lite0, resnet18, resnet50 or googlenet.")
    var backbone: BackboneKind

    @Option(name: .long, help: "ImageNet weights: default (the installed file) or a .safetensors/.pth file; omitted: random initialization.")
    var pretrained: String?

    @Option(name: .long, help: "Dataset: cub, cars, sop or folder.")
    var dataset: String

    @Option(name: .customLong("data-root"), help: "Where the dataset is.")
    var dataRoot: String?

    @Option(name: .customLong("train-classes"), help: "Training classes for datasets without an official split, e.g. 0-49.")
    var trainClasses: String?

    @Option(name: .long, help: "Which split: train or test.")
    var split: DataSplit = .test

    @Option(name: .customLong("image-size"), help: "Side of the square network input (default: the dataset preset's, 227).")
    var imageSize: Int?

    @Option(name: .long, help: "Shorter side the photos are resized to before the centre crop (default: round(image-size · 256/227)).")
    var resize: Int?

    @Option(name: .long, help: "Output .npy file of features (float32, N × F).")
    var out: String

    @Option(name: .customLong("labels-out"), help: "Output .npy file of labels (int64, the dataset's class ids); default: OUT with _labels before .npy.")
    var labelsOut: String?

    @Option(name: .customLong("classifier-out"), help: "Also write the logits of the weight file's ImageNet classifier (fc / _fc) here.")
    var classifierOut: String?

    @Option(name: .customLong("batch-size"), help: "Images per forward pass.")
    var batchSize = 64

    @Option(name: .long, help: "Compute threads (default: the machine's cores): the pool the backbone's layers run on (OpenBLAS single-threaded inside), as dml embed.")
    var threads = ThreadBudget.availableCores

    func validate() throws {
        guard backbone.isImageNetArchitecture else {
            throw ValidationError("--backbone must be efficientnet-lite0, resnet18, resnet50 or googlenet, not \(backbone.rawValue)")
        }
        guard batchSize >= 1, threads >= 1 else { throw ValidationError("--batch-size and --threads must be at least 1") }
        if classifierOut != nil && pretrained == nil {
            throw ValidationError("--classifier-out needs --pretrained (the classifier comes from the weight file)")
        }
    }

    func run() throws {
        var data = DatasetConfiguration()
        data.name = dataset
        if let dataRoot { data.root = dataRoot }
        if let trainClasses { data.trainClasses = trainClasses }
        if let imageSize { data.imageSize = imageSize }
        if let resize { data.resize = resize }
        let loaded = try data.load(normalization: backbone.inputNormalization)
        let chosen = loaded.split(split)
        let file = try pretrained.map { $0 == "default" ? try PretrainedWeights.defaultFile(for: backbone) : $0 }
        let tensors = try file.map { try Backbones.readWeights($0) }
        let network = try EmbeddingNetwork.backbone(backbone, input: chosen.sampleShape, isImageData: chosen.isImageData,
                                                    seed: 0, pretrained: "")
        if let tensors, let file { try Backbones.load(tensors, into: network, kind: backbone, source: file) }
        let start = Date()
        // The layers split their work over one pool (fused evaluation passes, see docs/networks.md);
        // OpenBLAS runs single-threaded inside it, in this scope only.
        network.use(pool: ThreadPool(threads: threads))
        let features = try BLASThreads.with(1) { try EmbeddingNetwork.embed(chosen, with: network, batchSize: batchSize) }
        let seconds = Date().timeIntervalSince(start)
        let labelsPath = labelsOut ?? (out.hasSuffix(".npy") ? String(out.dropLast(4)) + "_labels.npy" : out + "_labels.npy")
        try NPYArray(features).write(to: out)
        // The dataset's own class ids, so the train and test files stay class-disjoint.
        try NPYArray(labels: chosen.labels.map { chosen.classes[$0].originalID }).write(to: labelsPath)
        var summary: [String: Any] = ["features": out, "labels": labelsPath, "rows": features.rows, "dimension": features.columns,
                                      "seconds": seconds, "images_per_second": Double(features.rows) / max(seconds, 1e-9)]
        if let classifierOut, let tensors, let file {
            let classifier = try Backbones.classifier(tensors, kind: backbone, source: file)
            let logits = classifier(Tensor(features)).values
            try NPYArray(logits).write(to: classifierOut)
            summary["logits"] = classifierOut
        }
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: json, as: UTF8.self))
    }
}
