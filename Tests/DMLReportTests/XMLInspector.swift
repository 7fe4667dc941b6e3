import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses a document with Foundation's XMLParser (after the HTML doctype) and records its elements.
final class XMLInspector: NSObject, XMLParserDelegate {
    struct Element {
        let name: String
        let attributes: [String: String]
        /// The names of the enclosing elements, outermost first.
        let ancestors: [String]
    }

    private(set) var elements: [Element] = []
    private(set) var text = ""
    private var stack: [String] = []
    private var textStack: [String] = []
    private(set) var error: Error?

    /// Parses `document`; throws when it is not well-formed XML.
    init(document: String) throws {
        super.init()
        var body = document
        if body.hasPrefix("<!DOCTYPE html>") { body = String(body.dropFirst("<!DOCTYPE html>".count)) }
        let parser = XMLParser(data: Data(body.utf8))
        parser.delegate = self
        if !parser.parse() {
            throw parser.parserError ?? NSError(domain: "XMLInspector", code: 1)
        }
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        elements.append(Element(name: elementName, attributes: attributeDict, ancestors: stack))
        stack.append(elementName)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    /// The elements named `name`.
    func all(_ name: String) -> [Element] { elements.filter { $0.name == name } }

    /// The elements named `name` whose `class` attribute contains `className`.
    func all(_ name: String, class className: String) -> [Element] {
        all(name).filter { ($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(className)) }
    }

    /// The elements named `name` inside an element with `id` = `section` (by ancestry of `<section>`s).
    func all(_ name: String, inSection section: String) -> [Element] {
        var result = [Element]()
        var inside = false
        var depth = 0
        for e in elements {
            if inside && e.ancestors.count <= depth { inside = false }
            if e.name == "section" { if e.attributes["id"] == section { inside = true; depth = e.ancestors.count }; continue }
            if inside && e.name == name { result.append(e) }
        }
        return result
    }
}
