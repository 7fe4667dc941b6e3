import Foundation

/// Monotonic wall-clock time (`CLOCK_MONOTONIC`) in seconds: never set back, so differences of
/// two readings are elapsed times (the trainer's collective timings, the benchmarks' wall clock).
public enum MonotonicClock {
    /// The current reading, `tv_sec + 10⁻⁹ · tv_nsec`.
    public static func seconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
