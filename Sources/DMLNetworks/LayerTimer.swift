import DMLNumerics

/// Accumulates the wall time of the forward and backward passes of leaf layers by kind, for
/// the benchmarks' per-kind profiles (`dml bench train --profile`, with `--inference` too).
///
/// Attached to every `Sequential` of a model (`Sequential.use(timer:)`), it times each leaf
/// child's pass (a child with children of its own is not timed: its `Sequential`s time their
/// leaves), so nothing is counted twice. Work a container does itself (a `Residual`'s sum and
/// activation, a `Concatenate`'s copies) and leaves held directly by other containers are not
/// timed: they are what a top-level layer's time exceeds the sum of its leaves by. `kind` names
/// a leaf's kind (e.g. `Conv2D 1×1`, `BatchNorm`); kinds are listed in the order first seen.
///
/// In evaluation mode a `Sequential` runs fused steps (`InferencePlan`: a convolution with its
/// batch norm and activation as one pass); such a step is timed once, under the kinds of its
/// layers joined by `" + "` (`Conv2D 3×3 winograd + BatchNorm + ReLU`). The `Sequential` the
/// timer was attached to (the root) also times each of its own steps by name (`steps`), so a
/// whole evaluation-mode forward pass can be profiled per top-level layer without running the
/// layers one by one (which would break the fusions that cross them).
public final class LayerTimer {
    /// One kind's (or one top-level step's) totals.
    public struct Totals: Sendable {
        /// The kind's name (for `steps`: the step's layer names joined by `"+"`).
        public let kind: String
        /// Seconds of forward passes.
        public var forward = 0.0
        /// Seconds of backward passes.
        public var backward = 0.0
        /// Forward passes timed.
        public var calls = 0
        /// The layers timed under this kind (to attribute per-layer measurements such as
        /// GEMM time to it).
        public var members: Set<ObjectIdentifier> = []
    }

    /// The name of a leaf layer's kind.
    public let kind: (AnyObject) -> String
    /// The clock read before and after each pass, in seconds (wall-clock time by default).
    public let clock: () -> Double
    private var index: [String: Int] = [:]
    private var stepIndex: [String: Int] = [:]
    /// The totals per kind, in the order the kinds were first seen.
    public private(set) var totals: [Totals] = []
    /// The forward totals of the root container's own steps (its layers, or fused groups of
    /// them, by name), in the order first seen; only evaluation-mode passes through the root's
    /// `forward` fill it.
    public private(set) var steps: [Totals] = []
    /// The container `use(timer:)` was called on, whose steps are timed by name.
    weak var root: AnyObject?

    /// A timer at zero that names kinds with `kind` and reads `clock` (default: the monotonic
    /// wall clock; a benchmark on one thread may pass the thread's CPU clock, which a busy
    /// machine's other jobs do not inflate).
    public init(clock: @escaping () -> Double = MonotonicClock.seconds, kind: @escaping (AnyObject) -> String) {
        self.clock = clock
        self.kind = kind
    }

    /// Sets every total back to zero (the kinds and steps stay).
    public func reset() {
        for k in totals.indices { totals[k] = Totals(kind: totals[k].kind, members: totals[k].members) }
        for k in steps.indices { steps[k] = Totals(kind: steps[k].kind) }
    }

    /// Runs `body` (the pass of `layer`), adding its duration to the layer's kind.
    public func time<T>(_ layer: AnyObject, backward: Bool, _ body: () -> T) -> T {
        time([layer], backward: backward, body)
    }

    /// Runs `body` (one pass through `layers`, fused into one step, plus the work `note` names,
    /// e.g. a residual sum), adding its duration to the kind named by the layers' kinds and the
    /// note joined by `" + "`.
    public func time<T>(_ layers: [AnyObject], adding note: String? = nil, backward: Bool, _ body: () -> T) -> T {
        let start = clock()
        let result = body()
        let seconds = clock() - start
        let name = (layers.map(kind) + (note.map { [$0] } ?? [])).joined(separator: " + ")
        let k = Self.slot(name, in: &totals, index: &index)
        for layer in layers { totals[k].members.insert(ObjectIdentifier(layer)) }
        if backward { totals[k].backward += seconds } else { totals[k].forward += seconds; totals[k].calls += 1 }
        return result
    }

    /// Runs `body` (the root's forward step named `name`), adding its duration to `steps`.
    func timeStep<T>(_ name: String, _ body: () -> T) -> T {
        let start = clock()
        let result = body()
        let k = Self.slot(name, in: &steps, index: &stepIndex)
        steps[k].forward += clock() - start
        steps[k].calls += 1
        return result
    }

    private static func slot(_ name: String, in list: inout [Totals], index: inout [String: Int]) -> Int {
        if let known = index[name] { return known }
        index[name] = list.count
        list.append(Totals(kind: name))
        return list.count - 1
    }
}

extension Sequential {
    /// Attaches `timer` (or nil) to this container and every `Sequential` inside it, at any
    /// depth, including the bodies of `Residual` blocks (whose layers are named at the block's
    /// level, so the body itself is not among the descendants). This container becomes the
    /// timer's root (its steps are timed by name).
    public func use(timer: LayerTimer?) {
        self.timer = timer
        timer?.root = self
        visitDescendants { _, layer in
            (layer as? Sequential<Scalar>)?.timer = timer
            (layer as? Residual<Scalar>)?.body.timer = timer
        }
    }
}
