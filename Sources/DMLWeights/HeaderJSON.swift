import DMLNumerics

/// A JSON value as the safetensors header needs it: objects keep their members in file order
/// (so duplicate names can be reported) and integers are exact (`UInt64`, no detour through
/// `Double`).
enum HeaderJSON {
    case object([HeaderMember])
    case array([HeaderJSON])
    case string(String)
    /// A non-negative integer that fits in `UInt64`.
    case unsigned(UInt64)
    /// Any other number (negative, fractional, exponent or too large), as written.
    case number(String)
    case bool(Bool)
    case null

    /// A short name of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .unsigned, .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    /// Parses `bytes` as one JSON value (surrounding whitespace allowed). Nesting deeper than
    /// `maxDepth` is an error, so a hostile header cannot exhaust the stack.
    static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONSyntaxError) -> HeaderJSON {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected bytes after the top-level value") }
        return value
    }

    /// `s` as a JSON string literal (`JSONText.quoted`).
    static func quoted(_ s: String) -> String { JSONText.quoted(s) }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let maxDepth: Int
        var position = 0

        init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func error(_ reason: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, reason: reason) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
        }

        mutating func expect(_ literal: String, _ value: HeaderJSON) throws(JSONSyntaxError) -> HeaderJSON {
            for byte in literal.utf8 {
                guard current == byte else { throw error("expected '\(literal)'") }
                position += 1
            }
            return value
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> HeaderJSON {
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
            guard let c = current else { throw error("unexpected end of the header") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
            }
        }

        mutating func object(depth: Int) throws(JSONSyntaxError) -> HeaderJSON {
            position += 1
            var members: [HeaderMember] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                let key = try string()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw error("expected ':' after the member name \"\(key)\"") }
                position += 1
                skipWhitespace()
                members.append(HeaderMember(key: key, value: try value(depth: depth + 1)))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "}"): position += 1; return .object(members)
                default: throw error("expected ',' or '}' in an object")
                }
            }
        }

        mutating func array(depth: Int) throws(JSONSyntaxError) -> HeaderJSON {
            position += 1
            var items: [HeaderJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): position += 1
                case UInt8(ascii: "]"): position += 1; return .array(items)
                default: throw error("expected ',' or ']' in an array")
                }
            }
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current else { throw error("unexpected end inside a \\u escape") }
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid hex digit in a \\u escape")
                }
                v = v << 4 | digit
                position += 1
            }
            return v
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            position += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var runStart = position
            func flush(_ p: Parser, _ scalars: inout String.UnicodeScalarView, _ start: Int) throws(JSONSyntaxError) {
                guard start < p.position else { return }
                let run = UnsafeRawBufferPointer(rebasing: p.bytes[start..<p.position])
                guard let text = String(validating: run, as: UTF8.self) else {
                    throw JSONSyntaxError(offset: start, reason: "a string is not valid UTF-8")
                }
                scalars.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard let c = current else { throw error("unterminated string") }
                if c == UInt8(ascii: "\"") {
                    try flush(self, &scalars, runStart)
                    position += 1
                    return String(scalars)
                }
                if c < 0x20 { throw error("a control character inside a string") }
                if c != UInt8(ascii: "\\") { position += 1; continue }
                try flush(self, &scalars, runStart)
                position += 1
                guard let e = current else { throw error("unterminated escape") }
                position += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard current == UInt8(ascii: "\\") else { throw error("an unpaired surrogate in a \\u escape") }
                        position += 1
                        guard current == UInt8(ascii: "u") else { throw error("an unpaired surrogate in a \\u escape") }
                        position += 1
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("an unpaired surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("an invalid \\u escape") }
                    scalars.append(scalar)
                default: throw error("an invalid escape")
                }
                runStart = position
            }
        }

        mutating func number() throws(JSONSyntaxError) -> HeaderJSON {
            let start = position
            var isUnsigned = true
            if current == UInt8(ascii: "-") { isUnsigned = false; position += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw error("expected a digit") }
            if first == UInt8(ascii: "0") {
                position += 1
            } else {
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
            }
            if current == UInt8(ascii: ".") {
                isUnsigned = false
                position += 1
                guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { throw error("expected a digit after '.'") }
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isUnsigned = false
                position += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
                guard let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { throw error("expected a digit in the exponent") }
                while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) { position += 1 }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if isUnsigned, let v = UInt64(text) { return .unsigned(v) }
            return .number(text)
        }
    }
}

/// One member of a JSON object.
struct HeaderMember {
    let key: String
    let value: HeaderJSON
}

/// A syntax error in a JSON text, at a byte offset of that text.
struct JSONSyntaxError: Error {
    let offset: Int
    let reason: String
}
