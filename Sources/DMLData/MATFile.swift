import Foundation

/// A MATLAB array read from a Level 5 MAT-file (`save -v7`, `-v6`, scipy.io.savemat).
public indirect enum MATValue: Equatable, Sendable {
    /// A numeric or logical array (any class), values converted to Double, column-major.
    case numeric(dimensions: [Int], values: [Double])
    /// A character array as text (a row vector; a multi-row char array's rows are joined by "\n").
    case text(dimensions: [Int], String)
    /// A cell array, elements column-major.
    case cell(dimensions: [Int], [MATValue])
    /// A struct array: field names and, for each element (column-major), its fields.
    case structArray(dimensions: [Int], fieldNames: [String], elements: [[String: MATValue]])

    /// The dimensions.
    public var dimensions: [Int] {
        switch self {
        case .numeric(let d, _), .text(let d, _), .cell(let d, _), .structArray(let d, _, _): d
        }
    }

    /// The number of elements.
    public var count: Int { dimensions.reduce(1, *) }
}

/// A Level 5 MAT-file: the named top-level variables.
///
/// Layout: a 128-byte header (116 bytes of text, 8 bytes subsystem offset, version 0x0100, endian
/// indicator "IM" little- or "MI" big-endian), then data elements. Each element has an 8-byte tag
/// (type, byte count) or, when the count is under 5, a 4-byte "small element" tag with the data
/// packed beside it; element data are padded to 8 bytes. `miCOMPRESSED` (15) elements hold a
/// zlib stream of one further element; `miMATRIX` (14) elements hold array flags, dimensions,
/// a name and the class's contents (numeric parts, characters, cells, or struct fields).
public struct MATFile: Sendable {
    /// The top-level variables by name.
    public let variables: [String: MATValue]

    /// Reads the MAT-file at `path`.
    public static func read(_ path: String) throws -> MATFile {
        try MATFile(data: try FileBytes.read(path), source: path)
    }

    /// Parses the bytes of a MAT-file; `source` names it in errors.
    public init(data: Data, source: String) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 128 else {
            throw DataError(file: source, "not a MAT-file: \(bytes.count) bytes, shorter than the 128-byte header")
        }
        if bytes.starts(with: Array("MATLAB 7.3".utf8)) || bytes.starts(with: [0x89, 0x48, 0x44, 0x46]) {
            throw DataError(file: source, "a MAT-file version 7.3 (HDF5) is not supported; re-save it with save -v7")
        }
        let bigEndian: Bool
        switch (bytes[126], bytes[127]) {
        case (0x49, 0x4D): bigEndian = false  // "IM"
        case (0x4D, 0x49): bigEndian = true   // "MI"
        default: throw DataError(file: source, "not a Level 5 MAT-file (no IM/MI endian indicator at byte 126)")
        }
        var reader = MATReader(bytes: bytes, bigEndian: bigEndian, source: source)
        var variables = [String: MATValue]()
        var offset = 128
        while offset + 8 <= bytes.count {
            let (name, value, next) = try reader.topLevelElement(at: offset)
            if let name, let value { variables[name] = value }
            offset = next
        }
        self.variables = variables
    }

    /// The variable `name`, or a `DataError` naming `source` if it is absent.
    public func variable(_ name: String, source: String) throws -> MATValue {
        guard let v = variables[name] else {
            throw DataError(file: source, "no variable '\(name)' (the file has \(variables.keys.sorted().joined(separator: ", ")))")
        }
        return v
    }
}

/// The element parser over one buffer (the file, or a decompressed element).
struct MATReader {
    let bytes: [UInt8]
    let bigEndian: Bool
    let source: String

    enum DataType: UInt32 {
        case int8 = 1, uint8, int16, uint16, int32, uint32, single, double = 9
        case int64 = 12, uint64, matrix, compressed, utf8, utf16, utf32
    }

    func fail(_ reason: String, at offset: Int) -> DataError {
        DataError(file: source, "\(reason) (at byte \(offset))")
    }

    func u32(_ o: Int) -> UInt32 {
        let b = (0..<4).map { UInt32(bytes[o + $0]) }
        return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
    }

    /// The tag at `offset`: type, data start, data length, and the offset after the padded element.
    func tag(at offset: Int) throws -> (type: UInt32, start: Int, length: Int, next: Int) {
        guard offset + 8 <= bytes.count else { throw fail("truncated element tag", at: offset) }
        let first = u32(offset)
        let small = first >> 16
        if small != 0 {
            let length = Int(small), type = first & 0xFFFF
            guard length <= 4 else { throw fail("small element of \(length) bytes", at: offset) }
            return (type, offset + 4, length, offset + 8)
        }
        let length = Int(u32(offset + 4))
        let start = offset + 8
        guard start + length <= bytes.count else {
            throw fail("element of \(length) bytes runs past the end of the data (\(bytes.count) bytes): truncated file", at: offset)
        }
        let type = first
        let padded = type == DataType.compressed.rawValue ? length : (length + 7) / 8 * 8
        return (type, start, length, min(start + padded, bytes.count))
    }

    /// A top-level element: a named matrix (compressed or not), or nil for other element kinds.
    mutating func topLevelElement(at offset: Int) throws -> (String?, MATValue?, Int) {
        let t = try tag(at: offset)
        if t.type == DataType.compressed.rawValue {
            let inflated = try Inflate.decompress(Data(bytes[t.start..<(t.start + t.length)]), source: source)
            var inner = MATReader(bytes: [UInt8](inflated), bigEndian: bigEndian, source: source)
            let (name, value, _) = try inner.topLevelElement(at: 0)
            return (name, value, t.next)
        }
        guard t.type == DataType.matrix.rawValue else { return (nil, nil, t.next) }
        let (name, value) = try matrix(start: t.start, length: t.length)
        return (name, value, t.next)
    }

    /// The numbers of an element, converted to Double.
    func numbers(_ t: (type: UInt32, start: Int, length: Int, next: Int)) throws -> [Double] {
        guard let type = DataType(rawValue: t.type) else { throw fail("unknown numeric type \(t.type)", at: t.start) }
        let size: Int
        switch type {
        case .int8, .uint8, .utf8: size = 1
        case .int16, .uint16, .utf16: size = 2
        case .int32, .uint32, .single, .utf32: size = 4
        case .double, .int64, .uint64: size = 8
        case .matrix, .compressed: throw fail("expected numbers, found a matrix element", at: t.start)
        }
        guard t.length % size == 0 else { throw fail("\(t.length) bytes is not a whole number of \(size)-byte values", at: t.start) }
        var out = [Double]()
        out.reserveCapacity(t.length / size)
        for o in stride(from: t.start, to: t.start + t.length, by: size) {
            var raw: UInt64 = 0
            for k in 0..<size { raw |= UInt64(bytes[o + (bigEndian ? size - 1 - k : k)]) << (8 * UInt64(k)) }
            switch type {
            case .int8: out.append(Double(Int8(truncatingIfNeeded: raw)))
            case .uint8, .utf8, .uint16, .utf16, .uint32, .utf32: out.append(Double(raw))
            case .int16: out.append(Double(Int16(truncatingIfNeeded: raw)))
            case .int32: out.append(Double(Int32(truncatingIfNeeded: raw)))
            case .single: out.append(Double(Float(bitPattern: UInt32(raw))))
            case .double: out.append(Double(bitPattern: raw))
            case .int64: out.append(Double(Int64(bitPattern: raw)))
            case .uint64: out.append(Double(raw))
            case .matrix, .compressed: break
            }
        }
        return out
    }

    /// The text of an int8/uint8/utf8/utf16/uint16 element (ASCII names and char arrays).
    func text(_ t: (type: UInt32, start: Int, length: Int, next: Int)) throws -> String {
        let codes = try numbers(t)
        if t.type == DataType.utf8.rawValue || t.type == DataType.int8.rawValue || t.type == DataType.uint8.rawValue {
            return String(decoding: codes.map { UInt8($0) }, as: UTF8.self)
        }
        return String(decoding: codes.map { UInt16($0) }, as: UTF16.self)
    }

    /// Parses the contents of a `miMATRIX` element: (name, value).
    func matrix(start: Int, length: Int) throws -> (String, MATValue) {
        let end = start + length
        if length == 0 { return ("", .numeric(dimensions: [0, 0], values: [])) }
        let flags = try tag(at: start)
        guard flags.length >= 4 else { throw fail("array flags too short", at: start) }
        let arrayClass = Int(u32(flags.start) & 0xFF)
        let dimsTag = try tag(at: flags.next)
        let dimensions = try numbers(dimsTag).map { Int($0) }
        let nameTag = try tag(at: dimsTag.next)
        let name = try text(nameTag)
        var offset = nameTag.next
        let count = dimensions.reduce(1, *)
        switch arrayClass {
        case 1:  // mxCELL
            var cells = [MATValue]()
            for _ in 0..<count {
                let t = try tag(at: offset)
                guard t.type == DataType.matrix.rawValue else { throw fail("cell element is not a matrix", at: offset) }
                cells.append(try matrix(start: t.start, length: t.length).1)
                offset = t.next
            }
            return (name, .cell(dimensions: dimensions, cells))
        case 2:  // mxSTRUCT
            let lengthTag = try tag(at: offset)
            let fieldLength = Int(try numbers(lengthTag).first ?? 0)
            let namesTag = try tag(at: lengthTag.next)
            guard fieldLength > 0, namesTag.length % fieldLength == 0 else { throw fail("bad struct field names", at: offset) }
            var fieldNames = [String]()
            for k in 0..<(namesTag.length / fieldLength) {
                let raw = bytes[(namesTag.start + k * fieldLength)..<(namesTag.start + (k + 1) * fieldLength)]
                fieldNames.append(String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self))
            }
            offset = namesTag.next
            var elements = [[String: MATValue]]()
            elements.reserveCapacity(count)
            for _ in 0..<count {
                var fields = [String: MATValue]()
                for field in fieldNames {
                    let t = try tag(at: offset)
                    guard t.type == DataType.matrix.rawValue else { throw fail("struct field '\(field)' is not a matrix", at: offset) }
                    fields[field] = try matrix(start: t.start, length: t.length).1
                    offset = t.next
                }
                elements.append(fields)
            }
            return (name, .structArray(dimensions: dimensions, fieldNames: fieldNames, elements: elements))
        case 4:  // mxCHAR
            let t = try tag(at: offset)
            let codes = try numbers(t)
            let rows = dimensions.first ?? 1
            var lines = [String]()
            if rows <= 1 || codes.count != count {
                lines = [try text(t)]
            } else {
                let columns = count / rows
                for r in 0..<rows {
                    let scalars = (0..<columns).compactMap { Unicode.Scalar(UInt32(codes[$0 * rows + r])) }
                    lines.append(String(String.UnicodeScalarView(scalars)))
                }
            }
            return (name, .text(dimensions: dimensions, lines.joined(separator: "\n")))
        case 6...15:  // numeric classes (double, single, int8 … uint64)
            guard offset < end else { return (name, .numeric(dimensions: dimensions, values: [])) }
            let real = try numbers(try tag(at: offset))
            guard real.count == count else {
                throw fail("numeric array '\(name)' of dimensions \(dimensions) has \(real.count) values", at: offset)
            }
            return (name, .numeric(dimensions: dimensions, values: real))
        default:
            throw fail("MATLAB array class \(arrayClass) (sparse or object) is not supported", at: start)
        }
    }
}
