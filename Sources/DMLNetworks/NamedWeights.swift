import DMLNumerics
import DMLWeights

/// One parameter or buffer of a model as weight files name it: the dotted name
/// (`layer1.0.conv1.weight`), the logical shape (`[64, 64, 3, 3]`) and whether it is trained.
public struct WeightDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// Whether a tensor is a trained parameter or a buffer (batch-norm statistics).
    public enum Role: String, Sendable, Hashable {
        /// A parameter (weights, biases, batch-norm γ and β).
        case parameter
        /// A buffer (batch-norm running statistics).
        case buffer
    }

    /// The dotted name.
    public let name: String
    /// The logical (PyTorch) shape.
    public let shape: [Int]
    /// Parameter or buffer.
    public let role: Role

    /// `"name [d0, d1, …]"`.
    public var description: String { "\(name) \(shape)" }
}

/// Which names `loadWeights` skips.
public struct WeightLoadingOptions: Sendable, Equatable {
    /// Names starting with one of these are neither required from the file nor read from it:
    /// e.g. `["fc."]` (torchvision) or `["_fc."]` (EfficientNet) for the ImageNet classifier a
    /// backbone drops, plus the prefix of the model's new embedding head.
    public var ignoredPrefixes: [String]

    /// Options ignoring the given prefixes.
    public init(ignoredPrefixes: [String] = []) {
        self.ignoredPrefixes = ignoredPrefixes
    }

    /// Whether `name` is skipped: an ignored prefix, or a batch-norm `num_batches_tracked`
    /// counter (always ignored; dml does not use it).
    public func ignores(_ name: String) -> Bool {
        name == "num_batches_tracked" || name.hasSuffix(".num_batches_tracked") || ignoredPrefixes.contains { name.hasPrefix($0) }
    }
}

/// Named tensors did not match a model: every problem at once, by name.
public struct WeightLoadingError: Error, Equatable, CustomStringConvertible {
    /// A tensor whose shape differs from the model's.
    public struct Mismatch: Equatable, Sendable {
        /// The tensor's name.
        public let name: String
        /// The model's logical shape.
        public let expected: [Int]
        /// The file's shape.
        public let found: [Int]
    }

    /// Where the tensors came from (a file path), for the message.
    public var source: String
    /// Model tensors the file lacks.
    public var missing: [String]
    /// File tensors the model lacks.
    public var unexpected: [String]
    /// Tensors present in both with different shapes.
    public var mismatched: [Mismatch]
    /// Tensors that cannot be converted to floating point (name, reason).
    public var unconvertible: [String: String]

    /// Whether nothing is wrong.
    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty && unconvertible.isEmpty }

    public var description: String {
        var parts: [String] = []
        func list(_ names: [String]) -> String {
            names.prefix(20).joined(separator: ", ") + (names.count > 20 ? ", … (\(names.count) in all)" : "")
        }
        if !missing.isEmpty { parts.append("missing \(missing.count): \(list(missing))") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count): \(list(unexpected))") }
        if !mismatched.isEmpty {
            parts.append("wrong shape \(mismatched.count): " + list(mismatched.map { "\($0.name) is \($0.found), the model expects \($0.expected)" }))
        }
        if !unconvertible.isEmpty {
            parts.append("not floating point \(unconvertible.count): " + list(unconvertible.keys.sorted().map { "\($0) (\(unconvertible[$0]!))" }))
        }
        return "\(source): the weights do not match the model: " + parts.joined(separator: "; ")
    }
}

extension Layer {
    /// Every parameter and buffer with its dotted name and logical shape, in the model's order
    /// (per layer: parameters, then buffers, as PyTorch's `state_dict`).
    public func weightDescriptors() -> [WeightDescriptor] {
        var counts: [String: Int] = [:], parameters = Set<String>()
        visitParameters { name, value, _ in counts[name] = value.count; parameters.insert(name) }
        visitBuffers { name, value in counts[name] = value.count }
        var out: [WeightDescriptor] = []
        visitLogicalShapes { name, shape in
            guard let count = counts.removeValue(forKey: name) else { preconditionFailure("logical shape for unknown tensor \(name)") }
            precondition(shape.reduce(1, *) == count, "logical shape \(shape) of \(name) does not hold its \(count) values")
            out.append(WeightDescriptor(name: name, shape: shape, role: parameters.contains(name) ? .parameter : .buffer))
        }
        precondition(counts.isEmpty, "no logical shape reported for \(counts.keys.sorted())")
        return out
    }

    /// Every parameter and buffer as a `float32` tensor of its logical shape, by dotted name
    /// (what a safetensors writer takes).
    public func exportWeights() -> [String: StoredTensor] {
        var shapes: [String: [Int]] = [:]
        for d in weightDescriptors() { shapes[d.name] = d.shape }
        var out: [String: StoredTensor] = [:]
        func store(_ name: String, _ value: Matrix<Scalar>) {
            let floats: [Float] = (value.elements as? [Float]) ?? value.elements.map { Float($0) }
            // The shape's product equals the count (checked by weightDescriptors), so this cannot throw.
            out[name] = try! StoredTensor(shape: shapes[name]!, float32: floats)
        }
        visitParameters { name, value, _ in store(name, value) }
        visitBuffers { name, value in store(name, value) }
        return out
    }

    /// Loads parameters and buffers by dotted name from `tensors` (any floating-point element
    /// type, converted). Every model tensor not ignored by `options` must be present with its
    /// logical shape, and every file tensor not ignored must belong to the model; otherwise one
    /// `WeightLoadingError` lists all missing, unexpected, mis-shaped and non-float tensors,
    /// and the model is unchanged. Batch-norm statistics under their earlier names
    /// (`runningMean`, `runningVariance`) are read for `running_mean`, `running_var` when the
    /// file lacks the PyTorch name (as `importState` does for checkpoints).
    public func loadWeights(_ tensors: [String: StoredTensor], options: WeightLoadingOptions = WeightLoadingOptions(),
                            source: String = "weights") throws(WeightLoadingError) {
        var report = WeightLoadingError(source: source, missing: [], unexpected: [], mismatched: [], unconvertible: [:])
        var wanted: [String: [Int]] = [:]
        for d in weightDescriptors() where !options.ignores(d.name) { wanted[d.name] = d.shape }
        var values: [String: [Scalar]] = [:]
        var read = Set<String>()  // the file names used, PyTorch or legacy
        for (name, shape) in wanted.sorted(by: { $0.key < $1.key }) {
            var key = name
            if tensors[name] == nil, let legacy = legacyBufferName(name), tensors[legacy] != nil { key = legacy }
            guard let tensor = tensors[key] else { report.missing.append(name); continue }
            read.insert(key)
            guard tensor.shape == shape else {
                report.mismatched.append(.init(name: name, expected: shape, found: tensor.shape))
                continue
            }
            do {
                if Scalar.self == Float.self {
                    values[name] = try tensor.floatValues() as? [Scalar]
                } else {
                    values[name] = try tensor.doubleValues().map { Scalar($0) }
                }
            } catch {
                report.unconvertible[name] = error.description
            }
        }
        report.unexpected = tensors.keys.filter { !options.ignores($0) && wanted[$0] == nil && !read.contains($0) }.sorted()
        guard report.isEmpty else { throw report }
        visitParameters { name, value, _ in
            if let v = values[name] { value = Matrix(rows: value.rows, columns: value.columns, elements: v) }
        }
        visitBuffers { name, value in
            if let v = values[name] { value = Matrix(rows: value.rows, columns: value.columns, elements: v) }
        }
    }
}
