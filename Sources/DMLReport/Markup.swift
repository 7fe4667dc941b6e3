/// A node of an XHTML / SVG document tree that always renders to well-formed XML: every
/// element is closed (`<br/>` when empty), attribute values are double-quoted and escaped, and
/// text is escaped, so the output parses with any XML parser as well as in an HTML browser.
public indirect enum Markup: Sendable, Equatable {
    /// An element `<name a="v">children</name>`; attributes keep the given order.
    case element(name: String, attributes: [(String, String)], children: [Markup])
    /// Character data, escaped on output.
    case text(String)

    /// An element with attributes given as a list of pairs and any children.
    public static func el(_ name: String, _ attributes: [(String, String)] = [], _ children: [Markup] = []) -> Markup {
        .element(name: name, attributes: attributes, children: children)
    }

    /// An element holding just a piece of text.
    public static func el(_ name: String, _ attributes: [(String, String)] = [], text: String) -> Markup {
        .element(name: name, attributes: attributes, children: [.text(text)])
    }

    /// The node serialized as XML text.
    public var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    /// HTML elements that never have content; only these (and SVG elements) may be written
    /// `<x/>`, because an HTML parser ignores the slash on any other element and leaves it open.
    public static let voidElements: Set<String> = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    ]

    /// Appends the serialized node to `out` (one pass, no intermediate strings per child).
    /// An empty element is written `<x/>` when it is void or inside `<svg>` (`inSVG`), and
    /// `<x></x>` otherwise, which both XML and HTML parsers read the same way.
    public func render(into out: inout String, inSVG: Bool = false) {
        switch self {
        case .text(let value):
            out += Markup.escapeText(value)
        case .element(let name, let attributes, let children):
            out += "<" + name
            for (key, value) in attributes {
                out += " " + key + "=\"" + Markup.escapeAttribute(value) + "\""
            }
            let foreign = inSVG || name == "svg"
            if children.isEmpty && (foreign || Markup.voidElements.contains(name)) {
                out += "/>"
                return
            }
            out += ">"
            for child in children { child.render(into: &out, inSVG: foreign) }
            out += "</" + name + ">"
        }
    }

    /// `&`, `<`, `>` replaced by entities; characters XML 1.0 forbids (C0 controls other than
    /// tab, newline and carriage return) replaced by U+FFFD.
    public static func escapeText(_ text: String) -> String {
        escape(text, inAttribute: false)
    }

    /// Text escaping plus `"` and `'`, for double-quoted attribute values; newlines, tabs and
    /// carriage returns become character references so they survive attribute-value normalization.
    public static func escapeAttribute(_ text: String) -> String {
        escape(text, inAttribute: true)
    }

    private static func escape(_ text: String, inAttribute: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where inAttribute: out += "&quot;"
            case "'" where inAttribute: out += "&#39;"
            case "\n" where inAttribute: out += "&#10;"
            case "\t" where inAttribute: out += "&#9;"
            case "\r" where inAttribute: out += "&#13;"
            default: appendAllowed(scalar, to: &out)
            }
        }
        return out
    }

    private static func appendAllowed(_ scalar: Unicode.Scalar, to out: inout String) {
        let v = scalar.value
        let allowed = v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v != 0xFFFE && v != 0xFFFF)
        out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
    }

    /// Equal when they serialize to the same text.
    public static func == (lhs: Markup, rhs: Markup) -> Bool {
        lhs.rendered == rhs.rendered
    }
}

/// A complete XHTML-compatible HTML5 document: `<!DOCTYPE html>`, `<html>` with the XHTML
/// namespace, a UTF-8 `<meta charset>`, a title, an inline style sheet and the body.
public struct HTMLDocument: Sendable {
    /// The page title.
    public var title: String
    /// The CSS placed in a `<style>` element (escaped as text; CSS needs no `<` or `&`).
    public var styleSheet: String
    /// The body's children.
    public var body: [Markup]

    /// A document with the given title, style sheet and body.
    public init(title: String, styleSheet: String = ReportStyle.styleSheet, body: [Markup]) {
        self.title = title
        self.styleSheet = styleSheet
        self.body = body
    }

    /// The document as text: standards mode (the doctype), UTF-8, well-formed XML after the doctype.
    public var rendered: String {
        let html = Markup.el("html", [("xmlns", "http://www.w3.org/1999/xhtml"), ("lang", "en")], [
            .el("head", [], [
                .el("meta", [("charset", "utf-8")]),
                .el("meta", [("name", "viewport"), ("content", "width=device-width, initial-scale=1")]),
                .el("title", text: title),
                .el("style", text: styleSheet),
            ]),
            .el("body", [], body),
        ])
        var out = "<!DOCTYPE html>\n"
        html.render(into: &out)
        out += "\n"
        return out
    }
}
