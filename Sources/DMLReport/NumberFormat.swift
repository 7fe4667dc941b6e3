import Foundation

/// The number formats used in tables.
public enum NumberFormat {
    /// A metric value (a fraction in [0, 1]) as a percentage with two decimals: `0.6125` → `61.25`.
    public static func percent(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", 100 * value) : "—"
    }

    /// A value with `decimals` digits after the point; `∞` / `−∞` for infinities, `—` for NaN.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        if value.isNaN { return "—" }
        if value.isInfinite { return value > 0 ? "∞" : "−∞" }
        return String(format: "%.\(decimals)f", value)
    }

    /// A value as it is: an integer without decimals (`800`), otherwise up to 6 significant digits.
    public static func plain(_ value: Double) -> String {
        guard value.isFinite else { return fixed(value, decimals: 0) }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.6g", value)
    }

    /// A difference of two fractions in percentage points with its sign: `0.0312` → `+3.12`,
    /// `−0.005` → `-0.50`; `—` when not finite.
    public static func signedPoints(_ difference: Double) -> String {
        guard difference.isFinite else { return "—" }
        return (difference >= 0 ? "+" : "") + percent(difference)
    }

    /// A p-value: three significant digits, `< 0.001` below 0.001, `—` when undefined.
    public static func pValue(_ p: Double) -> String {
        guard p.isFinite else { return "—" }
        return p < 0.001 ? "< 0.001" : String(format: "%.3f", p)
    }
}
