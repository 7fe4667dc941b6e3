import Foundation

/// A one-line progress display on standard error: iteration, loss, synthetic fraction,
/// throughput and estimated time left.
///
/// On a terminal the line is redrawn in place (`\r`); otherwise (a log file, CI) a plain
/// line is printed at most every `minimumInterval` seconds, so logs stay short.
public struct ProgressBar: Sendable {
    /// The total number of iterations.
    public let total: Int
    /// Whether standard error is a terminal.
    public let interactive: Bool
    /// Seconds between two lines when not interactive.
    public let minimumInterval: Double
    /// Whether anything is printed at all.
    public let enabled: Bool
    private var lastPrint = -Double.infinity
    /// A warning shown at the end of every progress line from now on (a detected collapse).
    public var warning: String?

    /// A progress display for `total` iterations.
    public init(total: Int, enabled: Bool = true, minimumInterval: Double = 10) {
        self.total = max(total, 1)
        self.enabled = enabled
        self.interactive = isatty(STDERR_FILENO) != 0
        self.minimumInterval = minimumInterval
    }

    /// The text of the progress line.
    public static func line(iteration: Int, total: Int, loss: Double, syntheticFraction: Double?,
                            imagesPerSecond: Double, secondsLeft: Double) -> String {
        let width = 24
        let done = min(width, width * iteration / max(total, 1))
        let bar = String(repeating: "█", count: done) + String(repeating: "·", count: width - done)
        let percent = 100 * iteration / max(total, 1)
        var text = "[\(bar)] \(percent)% it \(iteration)/\(total)  loss \(String(format: "%.4f", loss))"
        if let f = syntheticFraction { text += "  synth \(String(format: "%.2f", f))" }
        text += "  \(String(format: "%.0f", imagesPerSecond)) img/s  ETA \(formatDuration(secondsLeft))"
        return text
    }

    /// `h:mm:ss` or `m:ss`.
    public static func formatDuration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Shows the state after `iteration` iterations, `elapsed` seconds into the run.
    public mutating func update(iteration: Int, loss: Double, syntheticFraction: Double?,
                                imagesPerSecond: Double, elapsed: Double, iterationsThisSession: Int) {
        guard enabled else { return }
        let perIteration = elapsed / Double(max(iterationsThisSession, 1))
        var text = Self.line(iteration: iteration, total: total, loss: loss, syntheticFraction: syntheticFraction,
                             imagesPerSecond: imagesPerSecond, secondsLeft: perIteration * Double(total - iteration))
        if let warning { text += "  WARNING: \(warning)" }
        if interactive {
            FileHandle.standardError.write(Data(("\r" + text + "  ").utf8))
            if iteration >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if elapsed - lastPrint >= minimumInterval || iteration >= total {
            lastPrint = elapsed
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Prints a message on its own line (after the progress line when interactive).
    public func message(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }
}
