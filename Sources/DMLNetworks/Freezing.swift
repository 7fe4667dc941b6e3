import DMLNumerics

/// A dotted layer path that names no layer of a model.
public struct UnknownLayerError: Error, Equatable, CustomStringConvertible {
    /// The path asked for.
    public let path: String
    /// The longest prefix of `path` that names a layer (empty: the model itself), to say where
    /// the path goes wrong.
    public let parent: String
    /// The names of `parent`'s children: the valid next components of the path.
    public let children: [String]

    /// The error for `path`, whose longest existing prefix is `parent` with `children`.
    public init(path: String, parent: String = "", children: [String]) {
        self.path = path
        self.parent = parent
        self.children = children
    }

    public var description: String {
        let list = children.prefix(40).joined(separator: ", ") + (children.count > 40 ? ", … (\(children.count) in all)" : "")
        if parent.isEmpty { return "the model has no layer \(path) (its layers: \(list))" }
        if children.isEmpty { return "the model has no layer \(path) (\(parent) is a layer without sub-layers; freeze through \(parent) itself)" }
        return "the model has no layer \(path) (\(parent) has the layers \(list), named \(parent).NAME)"
    }
}

extension Layer {
    /// Whether the layer has no children.
    public var isLeaf: Bool {
        var leaf = true
        visitChildren { _, _ in leaf = false }
        return leaf
    }

    /// Sets `freezesStatistics` on every batch-norm layer of the model: training mode then uses
    /// the running statistics and leaves them unchanged (the usual choice when fine-tuning a
    /// pretrained backbone with small classes per batch).
    public func freezeBatchNormStatistics(_ frozen: Bool = true) {
        if let bn = self as? BatchNorm<Scalar> { bn.freezesStatistics = frozen }
        visitDescendants { _, layer in (layer as? BatchNorm<Scalar>)?.freezesStatistics = frozen }
    }

    /// Freezes the parameters of every layer up to and including the layer at `path` (dotted,
    /// e.g. `"layer2"` or `"_blocks.3"`), in forward order: every leaf that comes before it
    /// depth first, and the layer itself with all its descendants. Layers after it are left as
    /// they are. With the network's `computesInputGradient` false (its input is data), the
    /// frozen prefix then gets no backward pass at all.
    public func freeze(through path: String) throws(UnknownLayerError) {
        var entries: [(path: String, layer: any Layer<Scalar>)] = []
        visitDescendants { p, layer in entries.append((p, layer)) }
        guard let end = entries.firstIndex(where: { $0.path == path }) else {
            // The deepest layer the path does name, and its children.
            var parent = "", container: any Layer<Scalar> = self
            for component in path.split(separator: ".", omittingEmptySubsequences: false) {
                let candidate = parent.isEmpty ? String(component) : parent + "." + component
                guard let entry = entries.first(where: { $0.path == candidate }) else { break }
                (parent, container) = (candidate, entry.layer)
            }
            var children: [String] = []
            container.visitChildren { name, _ in children.append(name) }
            throw UnknownLayerError(path: path, parent: parent, children: children)
        }
        for (index, entry) in entries.enumerated() where entry.layer.isLeaf {
            if index <= end || entry.path.hasPrefix(path + ".") { entry.layer.isFrozen = true }
        }
    }
}
