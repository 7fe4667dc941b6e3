import Foundation

/// The number formats used in tables.
public enum NumberFormat {
    /// A metric value (a fraction in [0, 1]) as a percentage with two decimals: `0.6125` → `61.25`.
    public static func percent(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", 100 * value) : "—"
    }

    /// A general value with `digits` significant digits (`%g`), `—` when not finite.
    public static func general(_ value: Double, digits: Int = 4) -> String {
        value.isFinite ? String(format: "%.\(digits)g", value) : "—"
    }

    /// A p-value: three significant digits, `< 0.001` below 0.001, `—` when undefined.
    public static func pValue(_ p: Double) -> String {
        guard p.isFinite else { return "—" }
        return p < 0.001 ? "< 0.001" : String(format: "%.3f", p)
    }
}
