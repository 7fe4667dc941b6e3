import DMLNumerics

/// The state an optimizer keeps per trainable parameter, and the loop that applies its update.
///
/// For every trainable parameter, by name, one tensor of the parameter's shape per slot (Adam's
/// `["m", "v"]`, SGD's `["momentum"]`), created at zero on the parameter's first step. A
/// checkpoint holds `<prefix>step` and `<prefix><slot>.<parameter name>` for each of them. Adam
/// and SGD differ only in their elementwise kernel.
struct OptimizerState<Scalar: NetworkScalar> {
    /// The names of the per-parameter tensors, in the order `OptimizerChunk.state(_:)` numbers them.
    let slots: [String]
    /// The number of steps taken.
    private(set) var stepCount = 0
    private var tensors: [String: [Matrix<Scalar>]] = [:]

    /// No steps taken and no state yet.
    init(slots: [String]) { self.slots = slots }

    /// Counts one step and, for every trainable parameter of `model`, calls `kernel(name, isNew)`
    /// (`isNew`: the parameter has no state yet, it is at zero) for the update of that parameter,
    /// then runs it over contiguous element ranges split over `pool` (each range's weights,
    /// gradients and state by `OptimizerChunk`). Without `retains` the state is dropped after the
    /// step (SGD without momentum keeps none).
    mutating func step(_ model: any Layer<Scalar>, pool: ThreadPool?, retains: Bool = true,
                       _ kernel: (_ name: String, _ isNew: Bool) -> (OptimizerChunk<Scalar>) -> Void) {
        stepCount += 1
        model.visitTrainableParameters { name, value, gradient in
            let existing = tensors.removeValue(forKey: name)
            var state = existing ?? slots.map { _ in Matrix.zeros(rows: value.rows, columns: value.columns) }
            let update = kernel(name, existing == nil)
            let n = value.count
            if n > 0 {
                gradient.withUnsafeBufferPointer { g in
                    value.withUnsafeMutableBufferPointer { w in
                        Self.withMutablePointers(&state) { bases in
                            let w = WorkerPointer(w.baseAddress!)
                            pool.parallelFor(count: n, minimumChunk: elementwiseGrain) { r in
                                update(OptimizerChunk(weights: w.base + r.lowerBound, gradients: g.baseAddress! + r.lowerBound,
                                                      count: r.count, stateBases: bases, offset: r.lowerBound))
                            }
                        }
                    }
                }
            }
            if retains { tensors[name] = state }
        }
    }

    /// Writes `<prefix>step` and every state tensor as `<prefix><slot>.<parameter name>`.
    func exportState(into archive: inout TensorArchive<Scalar>, prefix: String) {
        archive.integers[prefix + "step"] = Int64(stepCount)
        for (name, state) in tensors {
            for (slot, tensor) in zip(slots, state) { archive.tensors[prefix + slot + "." + name] = tensor }
        }
    }

    /// Restores what `exportState` wrote: the step count and, after at least one step and when
    /// `retains`, every slot of every trainable parameter of `model`, with the parameter's shape.
    /// Throws (changing nothing) when the step or a tensor is missing or a shape differs.
    mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>,
                              retains: Bool = true) throws {
        let step = try archive.integer(prefix + "step")
        var restored: [String: [Matrix<Scalar>]] = [:]
        if step > 0 && retains {
            try model.forEachTrainableParameterShape { name, rows, columns in
                restored[name] = try slots.map { try archive.tensor(prefix + $0 + "." + name, rows: rows, columns: columns) }
            }
        }
        stepCount = Int(step)
        tensors = restored
    }

    /// Calls `body` with the base addresses of `matrices` (each non-empty), all valid at once.
    private static func withMutablePointers(_ matrices: inout [Matrix<Scalar>], _ body: ([WorkerPointer<Scalar>]) -> Void) {
        matrices.withUnsafeMutableBufferPointer { storage in
            func nest(_ index: Int, _ bases: [WorkerPointer<Scalar>]) {
                guard index < storage.count else { return body(bases) }
                storage[index].withUnsafeMutableBufferPointer { p in nest(index + 1, bases + [WorkerPointer(p.baseAddress!)]) }
            }
            nest(0, [])
        }
    }
}

/// One worker's contiguous range of a parameter tensor in an optimizer step: its weights, its
/// gradients and the same range of each state tensor.
struct OptimizerChunk<Scalar> {
    /// The weights of the range.
    let weights: UnsafeMutablePointer<Scalar>
    /// Their gradients.
    let gradients: UnsafePointer<Scalar>
    /// The number of elements.
    let count: Int
    fileprivate let stateBases: [WorkerPointer<Scalar>]
    fileprivate let offset: Int

    /// The range of state tensor `slot` (an index into `OptimizerState.slots`).
    func state(_ slot: Int) -> UnsafeMutablePointer<Scalar> { stateBases[slot].base + offset }
}
