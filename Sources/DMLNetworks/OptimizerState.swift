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
    /// then runs all the updates in **one** parallel region over `pool`: the parameters'
    /// elements, laid end to end in visiting order, are cut into the pool's balanced chunks
    /// (`ThreadPool.chunk`; each at least `elementwiseGrain` elements), so every worker gets the
    /// same share however the sizes differ, and a chunk may span several tensors (each piece by
    /// `OptimizerChunk`). The updates are elementwise: the same numbers at every thread count.
    /// Without `retains` the state is dropped after the step (SGD without momentum keeps none).
    ///
    /// The parameter and gradient storage is moved out of the model for the region (a swap of
    /// each matrix's buffer, no copy) and moved back after it, in the same visiting order.
    mutating func step(_ model: any Layer<Scalar>, pool: ThreadPool?, retains: Bool = true,
                       _ kernel: (_ name: String, _ isNew: Bool) -> (OptimizerChunk<Scalar>) -> Void) {
        stepCount += 1
        var names: [String] = []
        var values: [Matrix<Scalar>] = [], gradients: [Matrix<Scalar>] = [], states: [Matrix<Scalar>] = []
        var updates: [(OptimizerChunk<Scalar>) -> Void] = []
        model.visitTrainableParameters { name, value, gradient in
            let existing = tensors.removeValue(forKey: name)
            let state = existing ?? slots.map { _ in Matrix.zeros(rows: value.rows, columns: value.columns) }
            updates.append(kernel(name, existing == nil))
            names.append(name)
            values.append(.empty)
            swap(&values[values.count - 1], &value)
            gradients.append(.empty)
            swap(&gradients[gradients.count - 1], &gradient)
            states.append(contentsOf: state)
        }
        Self.update(values: &values, gradients: gradients, states: &states, slotCount: slots.count,
                    updates: updates, pool: pool)
        var index = 0
        model.visitTrainableParameters { name, value, gradient in
            precondition(index < names.count && names[index] == name, "the model's parameters changed during an optimizer step")
            // A layer instance held twice was moved out at its first visit (the second one saw
            // empty matrices): only put back into the slot that is still empty.
            if value.count == 0 { swap(&value, &values[index]) }
            if gradient.count == 0 { swap(&gradient, &gradients[index]) }
            index += 1
        }
        precondition(index == names.count, "the model's parameters changed during an optimizer step")
        if retains {
            for (k, name) in names.enumerated() {
                tensors[name] = Array(states[(k * slots.count)..<((k + 1) * slots.count)])
            }
        }
    }

    /// Runs `updates[k]` over parameter `k` (`values[k]`, `gradients[k]`, state tensors
    /// `states[k·slotCount ..< (k+1)·slotCount]`), all parameters in one region: the balanced
    /// chunks of their concatenated elements, each chunk's pieces in parameter order.
    private static func update(values: inout [Matrix<Scalar>], gradients: [Matrix<Scalar>],
                               states: inout [Matrix<Scalar>], slotCount: Int,
                               updates: [(OptimizerChunk<Scalar>) -> Void], pool: ThreadPool?) {
        // Prefix offsets of the parameters in the concatenated element range.
        var offsets = [0]
        for value in values { offsets.append(offsets[offsets.count - 1] + value.count) }
        let total = offsets[offsets.count - 1]
        guard total > 0 else { return }
        withMutablePointers(&values) { w in
            withPointers(gradients) { g in
                withMutablePointers(&states) { bases in
                    pool.parallelFor(count: total, minimumChunk: elementwiseGrain) { range in
                        // The first parameter whose elements reach into the range, then each piece.
                        var k = 0
                        while offsets[k + 1] <= range.lowerBound { k += 1 }
                        var position = range.lowerBound
                        while position < range.upperBound {
                            let end = Swift.min(range.upperBound, offsets[k + 1])
                            if end > position, let weights = w[k], let grads = g[k] {
                                let local = position - offsets[k]
                                let stateBases = (0..<slotCount).map { bases[k * slotCount + $0]! }
                                updates[k](OptimizerChunk(weights: weights.base + local, gradients: grads + local,
                                                          count: end - position, stateBases: stateBases, offset: local))
                            }
                            position = end
                            k += 1
                        }
                    }
                }
            }
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

    /// Calls `body` with the base addresses of `matrices` (nil for an empty one), all valid at
    /// once, read only.
    private static func withPointers(_ matrices: [Matrix<Scalar>], _ body: ([UnsafePointer<Scalar>?]) -> Void) {
        var bases: [UnsafePointer<Scalar>?] = []
        bases.reserveCapacity(matrices.count)
        func nest(_ index: Int) {
            guard index < matrices.count else { return body(bases) }
            if matrices[index].count == 0 {
                bases.append(nil)
                nest(index + 1)
            } else {
                matrices[index].withUnsafeBufferPointer { p in
                    bases.append(p.baseAddress!)
                    nest(index + 1)
                }
            }
        }
        nest(0)
    }

    /// Calls `body` with the base addresses of `matrices` (nil for an empty one), all valid at
    /// once (nested scopes, so no pointer outlives its matrix's access).
    private static func withMutablePointers(_ matrices: inout [Matrix<Scalar>], _ body: ([WorkerPointer<Scalar>?]) -> Void) {
        var bases: [WorkerPointer<Scalar>?] = []
        bases.reserveCapacity(matrices.count)
        matrices.withUnsafeMutableBufferPointer { storage in
            func nest(_ index: Int) {
                guard index < storage.count else { return body(bases) }
                if storage[index].count == 0 {
                    bases.append(nil)
                    nest(index + 1)
                } else {
                    storage[index].withUnsafeMutableBufferPointer { p in
                        bases.append(WorkerPointer(p.baseAddress!))
                        nest(index + 1)
                    }
                }
            }
            nest(0)
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
