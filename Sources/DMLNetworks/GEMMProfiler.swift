import DMLNumerics

/// Accumulates the wall time spent in the GEMM calls of the layers it is attached to
/// (`Linear.profiler`, `Conv2D.profiler`), for the training micro-benchmark.
public final class GEMMProfiler {
    /// Total seconds measured so far.
    public private(set) var seconds: Double = 0
    /// Number of GEMM calls measured.
    public private(set) var calls: Int = 0

    /// A profiler at zero.
    public init() {}

    /// Sets the totals back to zero.
    public func reset() {
        seconds = 0
        calls = 0
    }

    /// Runs `body`, adding its duration to the totals.
    func measure(_ body: () -> Void) {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        seconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        calls += 1
    }
}

extension Optional where Wrapped == GEMMProfiler {
    /// Runs `body`, timed when a profiler is attached.
    func measure(_ body: () -> Void) {
        if let profiler = self { profiler.measure(body) } else { body() }
    }
}
