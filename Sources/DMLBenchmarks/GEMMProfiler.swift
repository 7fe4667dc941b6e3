import DMLNetworks

/// Accumulates the wall time spent in the GEMM calls of the layers it observes (attached as
/// their `gemmObserver`), for the training micro-benchmark.
public final class GEMMProfiler: GEMMObserver {
    /// Total seconds measured so far.
    public private(set) var seconds: Double = 0
    /// Number of GEMM calls measured.
    public private(set) var calls: Int = 0

    /// The clock the GEMM calls are timed by.
    public let clock: BenchmarkClock

    /// A profiler at zero, timing by `clock` (the wall clock by default).
    public init(clock: BenchmarkClock = .wall) { self.clock = clock }

    /// Sets the totals back to zero.
    public func reset() {
        seconds = 0
        calls = 0
    }

    /// Runs `product`, adding its duration to the totals.
    public func observe(_ product: () -> Void) {
        let start = clock.now()
        product()
        seconds += clock.now() - start
        calls += 1
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
