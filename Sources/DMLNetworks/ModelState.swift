import DMLNumerics

extension Layer {
    /// Calls `body` with the name and shape of every trainable parameter.
    public func forEachParameterShape(_ body: (_ name: String, _ rows: Int, _ columns: Int) throws -> Void) throws {
        var shapes: [(String, Int, Int)] = []
        visitParameters { name, value, _ in shapes.append((name, value.rows, value.columns)) }
        for (name, rows, columns) in shapes { try body(name, rows, columns) }
    }

    /// The model state as an archive: parameters and buffers by name (`"block1.conv.weight"`,
    /// `"block1.bn.runningMean"`), counters as integers, each name prefixed by `prefix`.
    public func exportState(prefix: String = "") -> TensorArchive<Scalar> {
        var archive = TensorArchive<Scalar>()
        visitParameters { name, value, _ in archive.tensors[prefix + name] = value }
        visitBuffers { name, value in archive.tensors[prefix + name] = value }
        visitCounters { name, value in archive.integers[prefix + name] = Int64(value) }
        return archive
    }

    /// Loads the state written by `exportState(prefix:)`. Every parameter, buffer and counter of
    /// the model must be present with its shape; nothing is changed when one is not. With
    /// `strict`, entries under `prefix` that the model lacks are an error too.
    public func importState(_ archive: TensorArchive<Scalar>, prefix: String = "", strict: Bool = true) throws {
        var expected: [String: (Int, Int)] = [:], counterNames: [String] = []
        visitParameters { name, value, _ in expected[name] = (value.rows, value.columns) }
        visitBuffers { name, value in expected[name] = (value.rows, value.columns) }
        visitCounters { name, _ in counterNames.append(name) }
        for (name, shape) in expected.sorted(by: { $0.key < $1.key }) {
            _ = try archive.tensor(prefix + name, rows: shape.0, columns: shape.1)
        }
        for name in counterNames.sorted() { _ = try archive.integer(prefix + name) }
        if strict {
            let known = Set(expected.keys.map { prefix + $0 } + counterNames.map { prefix + $0 })
            let extra = (Array(archive.tensors.keys) + Array(archive.integers.keys))
                .filter { $0.hasPrefix(prefix) && !known.contains($0) }.sorted()
            if !extra.isEmpty { throw TensorArchiveError.unexpected(names: extra) }
        }
        visitParameters { name, value, _ in value = archive.tensors[prefix + name]! }
        visitBuffers { name, value in value = archive.tensors[prefix + name]! }
        visitCounters { name, value in value = Int(archive.integers[prefix + name]!) }
    }
}
