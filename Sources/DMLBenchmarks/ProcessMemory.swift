import Foundation

/// The resident memory of this process, from Linux `/proc/self/status`.
public enum ProcessMemory {
    /// The peak resident set size (`VmHWM`) in bytes, or `nil` where `/proc` is unavailable.
    public static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kibibytes = Int(fields[1]) else { return nil }
            return kibibytes * 1024
        }
        return nil
    }

    /// Resets the peak to the current resident size (writes `5` to `/proc/self/clear_refs`,
    /// Linux ≥ 4.0), so the next `peakResidentBytes` measures one stage. Returns whether it worked.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }
}
