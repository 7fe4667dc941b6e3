import DMLNumerics

extension Layer {
    /// Calls `body` with the name and shape of every parameter (trainable or frozen).
    public func forEachParameterShape(_ body: (_ name: String, _ rows: Int, _ columns: Int) throws -> Void) throws {
        var shapes: [(String, Int, Int)] = []
        visitParameters { name, value, _ in shapes.append((name, value.rows, value.columns)) }
        for (name, rows, columns) in shapes { try body(name, rows, columns) }
    }

    /// Calls `body` with the name and shape of every trainable (not frozen) parameter: the ones
    /// an optimizer keeps state for.
    public func forEachTrainableParameterShape(_ body: (_ name: String, _ rows: Int, _ columns: Int) throws -> Void) throws {
        var shapes: [(String, Int, Int)] = []
        visitTrainableParameters { name, value, _ in shapes.append((name, value.rows, value.columns)) }
        for (name, rows, columns) in shapes { try body(name, rows, columns) }
    }

    /// The model state as an archive: parameters and buffers by name (`"block1.conv.weight"`,
    /// `"block1.bn.running_mean"`), counters as integers, each name prefixed by `prefix`.
    public func exportState(prefix: String = "") -> TensorArchive<Scalar> {
        var archive = TensorArchive<Scalar>()
        visitParameters { name, value, _ in archive.tensors[prefix + name] = value }
        visitBuffers { name, value in archive.tensors[prefix + name] = value }
        visitCounters { name, value in archive.integers[prefix + name] = Int64(value) }
        return archive
    }

    /// Loads the state written by `exportState(prefix:)`. Every parameter, buffer and counter of
    /// the model must be present with its shape; nothing is changed when one is not. With
    /// `strict`, entries under `prefix` that the model lacks are an error too. Batch-norm
    /// statistics written under their earlier names (`runningMean`, `runningVariance`) are read
    /// for `running_mean`, `running_var`.
    public func importState(_ archive: TensorArchive<Scalar>, prefix: String = "", strict: Bool = true) throws {
        var expected: [(String, Int, Int)] = [], counterNames: [String] = []
        visitParameters { name, value, _ in expected.append((name, value.rows, value.columns)) }
        visitBuffers { name, value in expected.append((name, value.rows, value.columns)) }
        visitCounters { name, _ in counterNames.append(name) }
        var source: [String: String] = [:]  // model name → archive key
        for (name, rows, columns) in expected.sorted(by: { $0.0 < $1.0 }) {
            var key = prefix + name
            if archive.tensors[key] == nil, let legacy = legacyBufferName(name), archive.tensors[prefix + legacy] != nil {
                key = prefix + legacy
            }
            do { _ = try archive.tensor(key, rows: rows, columns: columns) } catch TensorArchiveError.missing {
                throw TensorArchiveError.missing(name: prefix + name)
            }
            source[name] = key
        }
        for name in counterNames.sorted() { _ = try archive.integer(prefix + name) }
        if strict {
            let known = Set(Array(source.values) + counterNames.map { prefix + $0 })
            let extra = (Array(archive.tensors.keys) + Array(archive.integers.keys))
                .filter { $0.hasPrefix(prefix) && !known.contains($0) }.sorted()
            if !extra.isEmpty { throw TensorArchiveError.unexpected(names: extra) }
        }
        visitParameters { name, value, _ in value = archive.tensors[source[name]!]! }
        visitBuffers { name, value in value = archive.tensors[source[name]!]! }
        visitCounters { name, value in value = Int(archive.integers[prefix + name]!) }
    }
}

/// The name a buffer had in checkpoints written before the PyTorch names (`x.running_mean` was
/// `x.runningMean`, `x.running_var` was `x.runningVariance`), or nil.
func legacyBufferName(_ name: String) -> String? {
    for (current, legacy) in [("running_mean", "runningMean"), ("running_var", "runningVariance")] {
        if name == current { return legacy }
        if name.hasSuffix("." + current) { return String(name.dropLast(current.count)) + legacy }
    }
    return nil
}
