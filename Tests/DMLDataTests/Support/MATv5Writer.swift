import DMLData
import Foundation

/// A small Level 5 MAT-file writer (little-endian) for test fixtures: double and uint8 arrays,
/// char arrays, cells and struct arrays, each top-level variable optionally wrapped in a zlib
/// `miCOMPRESSED` element, as MATLAB's `save -v7` does.
enum MATv5Writer {
    /// A value to write.
    indirect enum Value {
        case doubles([Double], dimensions: [Int])
        case bytes([UInt8], dimensions: [Int])
        case text(String)
        case cell([Value])
        case structs(fieldNames: [String], elements: [[Value]])
    }

    /// The file holding `variables` in order.
    static func file(_ variables: [(String, Value)], compressed: Bool) throws -> Data {
        var out = Data("MATLAB 5.0 MAT-file, written by the DMLData tests".utf8)
        out.append(Data(repeating: 0x20, count: 116 - out.count))
        out.append(Data(repeating: 0, count: 8))
        out.append(contentsOf: [0x00, 0x01, 0x49, 0x4D])  // version 0x0100, "IM"
        for (name, value) in variables {
            let element = matrix(value, name: name)
            if compressed {
                let z = try Inflate.zlibCompress(element)
                out.append(tag(15, z.count))
                out.append(z)
            } else {
                out.append(element)
            }
        }
        return out
    }

    static func tag(_ type: UInt32, _ length: Int) -> Data {
        var d = Data()
        for v in [type, UInt32(length)] { d.append(contentsOf: (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) }) }
        return d
    }

    /// A full-tag element with its data padded to 8 bytes.
    static func element(_ type: UInt32, _ payload: Data) -> Data {
        var d = tag(type, payload.count)
        d.append(payload)
        d.append(Data(repeating: 0, count: (8 - payload.count % 8) % 8))
        return d
    }

    static func int32s(_ values: [Int]) -> Data {
        var d = Data()
        for v in values { d.append(contentsOf: (0..<4).map { UInt8((UInt32(truncatingIfNeeded: v) >> (8 * $0)) & 0xFF) }) }
        return d
    }

    /// A `miMATRIX` element.
    static func matrix(_ value: Value, name: String) -> Data {
        var body = Data()
        let arrayClass: UInt32
        var dims: [Int]
        var content = Data()
        switch value {
        case .doubles(let v, let d):
            arrayClass = 6; dims = d
            var raw = Data()
            for x in v { raw.append(contentsOf: withUnsafeBytes(of: x.bitPattern.littleEndian, Array.init)) }
            content = element(9, raw)
        case .bytes(let v, let d):
            arrayClass = 9; dims = d
            content = element(2, Data(v))
        case .text(let s):
            arrayClass = 4; dims = [1, s.utf16.count]
            var raw = Data()
            for u in s.utf16 { raw.append(contentsOf: [UInt8(u & 0xFF), UInt8(u >> 8)]) }
            content = element(4, raw)
        case .cell(let items):
            arrayClass = 1; dims = [1, items.count]
            for item in items { content.append(matrix(item, name: "")) }
        case .structs(let fields, let elements):
            arrayClass = 2; dims = [1, elements.count]
            let length = (fields.map(\.utf8.count).max() ?? 0) + 1
            // Field-name length as a small element (4-byte tag with the data packed beside it).
            content.append(contentsOf: [0x05, 0x00, 0x04, 0x00])
            content.append(int32s([length]))
            var names = Data()
            for f in fields { names.append(Data(f.utf8)); names.append(Data(repeating: 0, count: length - f.utf8.count)) }
            content.append(element(1, names))
            for e in elements { for v in e { content.append(matrix(v, name: "")) } }
        }
        body.append(element(6, int32s([Int(arrayClass), 0])))
        body.append(element(5, int32s(dims)))
        body.append(element(1, Data(name.utf8)))
        body.append(content)
        return element(14, body)
    }
}
