import Foundation

/// The machine's CPU time by kind, from Linux `/proc/stat` (the `cpu` line, all CPUs, in clock
/// ticks): on a virtual machine **steal** is time a vCPU was ready to run but the host ran
/// something else. A benchmark reads it before and after its timed part; a run with a large
/// steal share measured the host's load, not the code.
public struct HostCPUTime: Sendable, Equatable {
    /// Ticks of every kind (user, nice, system, idle, iowait, irq, softirq, steal), summed.
    public let total: UInt64
    /// Steal ticks.
    public let steal: UInt64

    /// The counters now, or nil where `/proc/stat` is unavailable or unreadable.
    public static func now() -> HostCPUTime? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return parse(text)
    }

    /// The counters of a `/proc/stat` text: its first line `cpu  user nice system idle iowait
    /// irq softirq steal …` (guest times, already inside user and nice, are not added); nil when
    /// that line is missing or has fewer than 8 numbers.
    public static func parse(_ text: String) -> HostCPUTime? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().prefix(8).compactMap { UInt64($0) }
        guard fields.count == 8 else { return nil }
        let total = fields.reduce(0, &+)
        return HostCPUTime(total: total, steal: fields[7])
    }

    /// The share of the machine's CPU time between `self` and a later reading `later` that was
    /// stolen (`Δsteal / Δtotal`), nil when no time passed.
    public func stealShare(until later: HostCPUTime) -> Double? {
        guard later.total > total, later.steal >= steal else { return nil }
        return Double(later.steal - steal) / Double(later.total - total)
    }
}
