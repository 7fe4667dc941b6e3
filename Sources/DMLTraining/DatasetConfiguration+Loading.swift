import DMLData
import DMLBackbones

extension DatasetConfiguration {
    /// The data module's description of this dataset: empty fields mean "the dataset's default".
    /// `normalization` is the network's input normalization of photos (nil: ImageNet's).
    public func spec(normalization: Normalization? = nil) throws -> DatasetSpec {
        var spec = try DatasetSpec(name: name, root: root.isEmpty ? nil : root)
        if !trainClasses.isEmpty { spec.trainClasses = try ClassSplit.parse(trainClasses, source: "dataset.trainClasses") }
        if imageSize > 0 { spec.imageSize = imageSize }
        if resize > 0 { spec.resizeSide = resize }
        spec.normalization = normalization
        return spec
    }

    /// Reads the dataset's training and held-out splits, photos normalized with `normalization`
    /// (nil: ImageNet's mean and standard deviation).
    public func load(normalization: Normalization? = nil) throws -> Dataset {
        try spec(normalization: normalization).load()
    }
}

extension TrainingConfiguration {
    /// The dataset, its photos normalized as the model's backbone expects
    /// (`BackboneKind.inputNormalization`: EfficientNet-Lite (x − 127)/128, GoogLeNet
    /// (x − 0.5)/0.5, otherwise ImageNet's mean and standard deviation).
    public func loadDataset() throws -> Dataset {
        try dataset.load(normalization: model.architecture.inputNormalization)
    }
}
