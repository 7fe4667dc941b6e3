import Foundation
import DMLNumerics

/// The clocks benchmarks read, in seconds. On a shared machine the CPU time of the working
/// thread is steadier than the wall time: it leaves out the time spent waiting for a core.
public enum BenchmarkClock: Sendable {
    /// Monotonic wall-clock time (`CLOCK_MONOTONIC`).
    case wall
    /// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
    case threadCPU
    /// CPU time of the whole process, all threads (`CLOCK_PROCESS_CPUTIME_ID`).
    case processCPU

    /// The clock's current reading.
    public func now() -> Double {
        var t = timespec()
        switch self {
        case .wall: return MonotonicClock.seconds()
        case .threadCPU: clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        case .processCPU: clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        }
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
