import DMLNumerics

/// Accumulates the wall time of the forward and backward passes of leaf layers by kind, for
/// the training micro-benchmark's per-kind profile (`dml bench train --profile`).
///
/// Attached to every `Sequential` of a model (`Sequential.use(timer:)`), it times each leaf
/// child's pass (a child with children of its own is not timed: its `Sequential`s time their
/// leaves), so nothing is counted twice. Work a container does itself (a `Residual`'s sum and
/// activation, a `Concatenate`'s copies) and leaves held directly by other containers are not
/// timed: they are what a top-level layer's time exceeds the sum of its leaves by. `kind` names
/// a leaf's kind (e.g. `Conv2D 1×1`, `BatchNorm`); kinds are listed in the order first seen.
public final class LayerTimer {
    /// One kind's totals.
    public struct Totals: Sendable {
        /// The kind's name.
        public let kind: String
        /// Seconds of forward passes.
        public var forward = 0.0
        /// Seconds of backward passes.
        public var backward = 0.0
        /// Forward passes timed.
        public var calls = 0
    }

    /// The name of a leaf layer's kind.
    public let kind: (AnyObject) -> String
    private var index: [String: Int] = [:]
    /// The totals per kind, in the order the kinds were first seen.
    public private(set) var totals: [Totals] = []

    /// A timer at zero that names kinds with `kind`.
    public init(kind: @escaping (AnyObject) -> String) { self.kind = kind }

    /// Sets every total back to zero (the kinds stay).
    public func reset() {
        for k in totals.indices { totals[k] = Totals(kind: totals[k].kind) }
    }

    /// Runs `body` (the pass of `layer`), adding its duration to the layer's kind.
    public func time<T>(_ layer: AnyObject, backward: Bool, _ body: () -> T) -> T {
        let start = ContinuousClock.now
        let result = body()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let name = kind(layer)
        let k: Int
        if let known = index[name] { k = known } else {
            k = totals.count
            index[name] = k
            totals.append(Totals(kind: name))
        }
        if backward { totals[k].backward += seconds } else { totals[k].forward += seconds; totals[k].calls += 1 }
        return result
    }
}

extension Sequential {
    /// Attaches `timer` (or nil) to this container and every `Sequential` inside it, at any
    /// depth, including the bodies of `Residual` blocks (whose layers are named at the block's
    /// level, so the body itself is not among the descendants).
    public func use(timer: LayerTimer?) {
        self.timer = timer
        visitDescendants { _, layer in
            (layer as? Sequential<Scalar>)?.timer = timer
            (layer as? Residual<Scalar>)?.body.timer = timer
        }
    }
}
