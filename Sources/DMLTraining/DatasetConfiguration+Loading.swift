import DMLData

extension DatasetConfiguration {
    /// The data module's description of this dataset: empty fields mean "the dataset's default".
    public func spec() throws -> DatasetSpec {
        var spec = try DatasetSpec(name: name, root: root.isEmpty ? nil : root)
        if !trainClasses.isEmpty { spec.trainClasses = try ClassSplit.parse(trainClasses, source: "dataset.trainClasses") }
        if imageSize > 0 { spec.imageSize = imageSize }
        return spec
    }

    /// Reads the dataset's training and held-out splits.
    public func load() throws -> Dataset {
        try spec().load()
    }
}
