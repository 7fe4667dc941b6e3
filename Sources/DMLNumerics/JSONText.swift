/// JSON text written by hand, where the exact bytes matter (sorted keys, shortest numbers):
/// the records of `log.jsonl` and the safetensors header.
public enum JSONText {
    /// `s` as a JSON string literal (quotes included), escaping `"`, `\`, `\n`, `\r`, `\t` and
    /// the other control characters (`\u00XX`); everything else is kept as it is (UTF-8).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
