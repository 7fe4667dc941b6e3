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

extension BenchmarkClock {
    /// Times `a` and `b` alternately on this clock: one untimed warm-up call of each, then
    /// `rounds` timed pairs A B A B…; returns the median seconds of each (the upper median for
    /// an even count). An error thrown by `a` or `b` ends the timing and is rethrown.
    public func alternating(rounds: Int, _ a: () throws -> Void, _ b: () throws -> Void) rethrows -> (a: Double, b: Double) {
        precondition(rounds >= 1, "rounds must be at least 1")
        func timed(_ body: () throws -> Void) rethrows -> Double {
            let start = now()
            try body()
            return now() - start
        }
        try a()
        try b()
        var aTimes: [Double] = [], bTimes: [Double] = []
        for _ in 0..<rounds {
            aTimes.append(try timed(a))
            bTimes.append(try timed(b))
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        return (median(aTimes), median(bTimes))
    }
}
