import DMLNumerics

/// A dotted layer path that names no layer of a model.
public struct UnknownLayerError: Error, Equatable, CustomStringConvertible {
    /// The path asked for.
    public let path: String
    /// The model's top-level children, to say what exists.
    public let children: [String]

    public var description: String {
        "the model has no layer \(path) (its layers: \(children.prefix(20).joined(separator: ", "))\(children.count > 20 ? ", …" : ""))"
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
            var children: [String] = []
            visitChildren { name, _ in children.append(name) }
            throw UnknownLayerError(path: path, children: children)
        }
        for (index, entry) in entries.enumerated() where entry.layer.isLeaf {
            if index <= end || entry.path.hasPrefix(path + ".") { entry.layer.isFrozen = true }
        }
    }
}
