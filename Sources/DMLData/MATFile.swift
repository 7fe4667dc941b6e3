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
        let reader = MATReader(bytes: bytes, bigEndian: bigEndian, source: source)
        var variables = [String: MATValue]()
        var offset = 128
        while offset + 8 <= bytes.count {
            let (name, value, next) = try reader.topLevelElement(at: offset)
            if let name, let value { variables[name] = value }  // a repeated name: the last wins, as in scipy
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
///
/// Every size and count read from the buffer is checked before it is used: tags must lie inside
/// their enclosing element, dimensions must be whole numbers in 0…2³¹−1 whose product does not
/// overflow, a cell or struct array cannot hold more elements than its bytes can encode, nesting
/// is at most `maximumDepth` deep, and character codes must be valid UTF-8, UTF-16 or Unicode
/// scalars. A violation is a `DataError` naming the file, the variable path and the byte offset.
struct MATReader {
    let bytes: [UInt8]
    let bigEndian: Bool
    let source: String

    /// The deepest nesting of cells and structs accepted (real files nest a few levels; a bound
    /// keeps a crafted file from exhausting the stack).
    static let maximumDepth = 64
    /// The largest struct field-name length accepted (MATLAB's own limit is 64 with the NUL).
    static let maximumFieldNameLength = 4096

    enum DataType: UInt32 {
        case int8 = 1, uint8, int16, uint16, int32, uint32, single, double = 9
        case int64 = 12, uint64, matrix, compressed, utf8, utf16, utf32
    }

    /// An element tag: data type, where the data start, their length, and the offset after the
    /// padded element.
    struct Tag {
        let type: UInt32
        let start: Int
        let length: Int
        let next: Int
        var end: Int { start + length }
    }

    /// How the code units of a character element are to be read.
    enum TextEncoding { case utf8, utf16, codePoints }

    /// A number as it would be written in MATLAB: integers without a fractional part.
    static func describe(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return "\(v)"
    }

    func fail(_ reason: String, at offset: Int) -> DataError {
        DataError(file: source, "\(reason) (at byte \(offset))")
    }

    func u32(_ o: Int) -> UInt32 {
        let b = (0..<4).map { UInt32(bytes[o + $0]) }
        return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
    }

    /// The tag at `offset`, whose element must end by `end` (the end of the enclosing element).
    func tag(at offset: Int, end: Int, what: String) throws -> Tag {
        guard offset <= end - 8 else { throw fail("\(what): truncated element tag", at: offset) }
        let first = u32(offset)
        let small = first >> 16
        if small != 0 {
            let length = Int(small), type = first & 0xFFFF
            guard length <= 4 else { throw fail("\(what): small element of \(length) bytes, expected at most 4", at: offset) }
            return Tag(type: type, start: offset + 4, length: length, next: offset + 8)
        }
        let length = Int(u32(offset + 4))
        let start = offset + 8
        guard length <= end - start else {
            throw fail("\(what): element of \(length) bytes runs past the end of its container (\(end - start) bytes left): truncated or corrupt file", at: offset)
        }
        let padded = first == DataType.compressed.rawValue ? length : (length + 7) / 8 * 8
        return Tag(type: first, start: start, length: length, next: min(start + padded, end))
    }

    /// A top-level element: a named matrix (compressed or not), or nil for other element kinds.
    func topLevelElement(at offset: Int) throws -> (String?, MATValue?, Int) {
        let t = try tag(at: offset, end: bytes.count, what: "top-level element")
        if t.type == DataType.compressed.rawValue {
            let inflated = try Inflate.decompress(Data(bytes[t.start..<t.end]), source: source)
            let inner = MATReader(bytes: [UInt8](inflated), bigEndian: bigEndian, source: source)
            let i = try inner.tag(at: 0, end: inner.bytes.count, what: "compressed element at byte \(offset)")
            if i.type == DataType.compressed.rawValue {
                throw fail("a compressed element inside a compressed element (MAT-files never nest them)", at: offset)
            }
            guard i.type == DataType.matrix.rawValue else { return (nil, nil, t.next) }
            let (name, value) = try inner.matrix(i, path: nil, depth: 0)
            return (name, value, t.next)
        }
        guard t.type == DataType.matrix.rawValue else { return (nil, nil, t.next) }
        let (name, value) = try matrix(t, path: nil, depth: 0)
        return (name, value, t.next)
    }

    /// The size in bytes of one value of a numeric element type.
    func valueSize(_ t: Tag, what: String) throws -> (DataType, Int) {
        guard let type = DataType(rawValue: t.type) else { throw fail("\(what): unknown data type \(t.type)", at: t.start) }
        switch type {
        case .int8, .uint8, .utf8: return (type, 1)
        case .int16, .uint16, .utf16: return (type, 2)
        case .int32, .uint32, .single, .utf32: return (type, 4)
        case .double, .int64, .uint64: return (type, 8)
        case .matrix, .compressed: throw fail("\(what): expected numbers, found a matrix element", at: t.start)
        }
    }

    /// The raw (byte-order corrected) bit patterns of the values of an element.
    func rawValues(_ t: Tag, what: String) throws -> (DataType, [UInt64]) {
        let (type, size) = try valueSize(t, what: what)
        guard t.length % size == 0 else {
            throw fail("\(what): \(t.length) bytes is not a whole number of \(size)-byte values", at: t.start)
        }
        var out = [UInt64]()
        out.reserveCapacity(t.length / size)
        for o in stride(from: t.start, to: t.end, by: size) {
            var raw: UInt64 = 0
            for k in 0..<size { raw |= UInt64(bytes[o + (bigEndian ? size - 1 - k : k)]) << (8 * UInt64(k)) }
            out.append(raw)
        }
        return (type, out)
    }

    /// The numbers of an element, converted to Double.
    func numbers(_ t: Tag, what: String) throws -> [Double] {
        let (type, raw) = try rawValues(t, what: what)
        return raw.map { raw in
            switch type {
            case .int8: Double(Int8(truncatingIfNeeded: raw))
            case .int16: Double(Int16(truncatingIfNeeded: raw))
            case .int32: Double(Int32(truncatingIfNeeded: raw))
            case .int64: Double(Int64(bitPattern: raw))
            case .single: Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
            case .double: Double(bitPattern: raw)
            case .uint8, .utf8, .uint16, .utf16, .uint32, .utf32, .uint64, .matrix, .compressed: Double(raw)
            }
        }
    }

    /// The dimensions of `what` and their product: whole numbers in 0…2³¹−1 (MATLAB stores them
    /// as int32), the product free of overflow.
    func dimensions(_ t: Tag, what: String) throws -> (dimensions: [Int], count: Int) {
        let values = try numbers(t, what: "\(what): dimensions")
        guard !values.isEmpty else { throw fail("\(what): no dimensions", at: t.start) }
        var dimensions = [Int](), count = 1
        for v in values {
            guard let d = Int(exactly: v), d >= 0, d <= Int(Int32.max) else {
                throw fail("\(what): dimension \(Self.describe(v)) is not a whole number in 0…\(Int32.max)", at: t.start)
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw fail("\(what): dimensions \(dimensions + [d]) (of \(values.count)) have a product beyond \(Int.max)", at: t.start)
            }
            dimensions.append(d)
            count = product
        }
        return (dimensions, count)
    }

    /// The code units of a character or name element: 8-bit types are UTF-8 bytes (MATLAB
    /// writes names as miINT8), 16-bit types UTF-16 code units (MATLAB's char), anything else
    /// Unicode code points, which must be whole numbers in 0…0x10FFFF.
    func codeUnits(_ t: Tag, what: String) throws -> ([UInt32], TextEncoding) {
        let (type, raw) = try rawValues(t, what: what)
        switch type {
        case .int8, .uint8, .utf8: return (raw.map { UInt32(truncatingIfNeeded: $0) }, .utf8)
        case .int16, .uint16, .utf16: return (raw.map { UInt32(truncatingIfNeeded: $0) }, .utf16)
        default:
            let codes = try numbers(t, what: what)
            let units = try codes.map { v -> UInt32 in
                guard let c = UInt32(exactly: v), c <= 0x10FFFF else {
                    throw fail("\(what): character code \(Self.describe(v)) is not a Unicode code point (0…0x10FFFF)", at: t.start)
                }
                return c
            }
            return (units, .codePoints)
        }
    }

    /// The text of code units in `encoding`; invalid UTF-8, an unpaired UTF-16 surrogate or a
    /// surrogate code point is an error naming `what`.
    func string<C: Collection<UInt32>>(_ units: C, _ encoding: TextEncoding, what: String, at offset: Int) throws -> String {
        let decoded: String?
        switch encoding {
        case .utf8: decoded = String(validating: units.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        case .utf16: decoded = String(validating: units.map { UInt16(truncatingIfNeeded: $0) }, as: UTF16.self)
        case .codePoints:
            let scalars = units.compactMap { Unicode.Scalar($0) }
            decoded = scalars.count == units.count ? String(String.UnicodeScalarView(scalars)) : nil
        }
        guard let decoded else {
            let name = encoding == .utf8 ? "UTF-8" : encoding == .utf16 ? "UTF-16" : "Unicode text"
            throw fail("\(what): not valid \(name)", at: offset)
        }
        return decoded
    }

    /// The text of a name or character element.
    func text(_ t: Tag, what: String) throws -> String {
        let (units, encoding) = try codeUnits(t, what: what)
        return try string(units, encoding, what: what, at: t.start)
    }

    /// Parses a `miMATRIX` element: (name, value). `path` names the enclosing variable and the
    /// element within it (`annotations(3).class`, `class_names{2}`) for errors; nil at top level.
    func matrix(_ element: Tag, path: String?, depth: Int) throws -> (String, MATValue) {
        let end = element.end
        if element.length == 0 { return ("", .numeric(dimensions: [0, 0], values: [])) }
        guard depth <= Self.maximumDepth else {
            throw fail("\(path ?? "variable"): cells or structs nested more than \(Self.maximumDepth) deep", at: element.start)
        }
        let context = path ?? "variable at byte \(element.start - 8)"
        let flags = try tag(at: element.start, end: end, what: "\(context): array flags")
        guard flags.length >= 4 else { throw fail("\(context): array flags of \(flags.length) bytes, expected 8", at: element.start) }
        let arrayClass = Int(u32(flags.start) & 0xFF)
        let dimsTag = try tag(at: flags.next, end: end, what: "\(context): dimensions")
        let nameTag = try tag(at: dimsTag.next, end: end, what: "\(context): name")
        let name = try text(nameTag, what: "\(context): name")
        let what = path ?? "variable '\(name)'"
        let (dimensions, count) = try dimensions(dimsTag, what: what)
        var offset = nameTag.next
        switch arrayClass {
        case 1:  // mxCELL
            // Each cell is a miMATRIX element of at least an 8-byte tag.
            guard count <= (end - offset) / 8 else {
                throw fail("\(what): a cell array of dimensions \(dimensions) needs more bytes than its \(end - offset)", at: offset)
            }
            var cells = [MATValue]()
            cells.reserveCapacity(count)
            for k in 0..<count {
                let cellPath = "\(path ?? name){\(k + 1)}"
                let t = try tag(at: offset, end: end, what: cellPath)
                guard t.type == DataType.matrix.rawValue else { throw fail("\(cellPath): cell element is not a matrix", at: offset) }
                cells.append(try matrix(t, path: cellPath, depth: depth + 1).1)
                offset = t.next
            }
            return (name, .cell(dimensions: dimensions, cells))
        case 2:  // mxSTRUCT
            let lengthTag = try tag(at: offset, end: end, what: "\(what): field name length")
            let lengths = try numbers(lengthTag, what: "\(what): field name length")
            guard lengths.count == 1, let fieldLength = Int(exactly: lengths[0]),
                  (1...Self.maximumFieldNameLength).contains(fieldLength) else {
                throw fail("\(what): field name length \(lengths.map(Self.describe).joined(separator: ", ")), expected one whole number in 1…\(Self.maximumFieldNameLength)", at: offset)
            }
            let namesTag = try tag(at: lengthTag.next, end: end, what: "\(what): field names")
            guard namesTag.length % fieldLength == 0 else {
                throw fail("\(what): \(namesTag.length) bytes of field names is not a multiple of the name length \(fieldLength)", at: lengthTag.next)
            }
            var fieldNames = [String]()
            for k in 0..<(namesTag.length / fieldLength) {
                let raw = bytes[(namesTag.start + k * fieldLength)..<(namesTag.start + (k + 1) * fieldLength)]
                guard let field = String(validating: raw.prefix { $0 != 0 }, as: UTF8.self) else {
                    throw fail("\(what): field name \(k + 1) is not valid UTF-8", at: namesTag.start + k * fieldLength)
                }
                guard !fieldNames.contains(field) else { throw fail("\(what): field '\(field)' appears twice", at: namesTag.start) }
                fieldNames.append(field)
            }
            offset = namesTag.next
            // Each field of each element is a miMATRIX element of at least an 8-byte tag; a
            // struct without fields is bounded by the buffer's size.
            let (needed, overflow) = count.multipliedReportingOverflow(by: fieldNames.count * 8)
            guard !overflow, needed <= end - offset, fieldNames.isEmpty ? count <= bytes.count : true else {
                throw fail("\(what): a struct array of dimensions \(dimensions) with \(fieldNames.count) fields needs more bytes than its \(end - offset)", at: offset)
            }
            var elements = [[String: MATValue]]()
            elements.reserveCapacity(count)
            for k in 0..<count {
                var fields = [String: MATValue]()
                for field in fieldNames {
                    let fieldPath = "\(path ?? name)(\(k + 1)).\(field)"
                    let t = try tag(at: offset, end: end, what: fieldPath)
                    guard t.type == DataType.matrix.rawValue else { throw fail("\(fieldPath): struct field is not a matrix", at: offset) }
                    fields[field] = try matrix(t, path: fieldPath, depth: depth + 1).1
                    offset = t.next
                }
                elements.append(fields)
            }
            return (name, .structArray(dimensions: dimensions, fieldNames: fieldNames, elements: elements))
        case 4:  // mxCHAR
            guard offset < end else {
                guard count == 0 else { throw fail("\(what): a char array of dimensions \(dimensions) has no data", at: offset) }
                return (name, .text(dimensions: dimensions, ""))
            }
            let t = try tag(at: offset, end: end, what: "\(what): characters")
            let (units, encoding) = try codeUnits(t, what: "\(what): characters")
            let rows = dimensions[0]
            var lines = [String]()
            if rows <= 1 || units.count != count {
                lines = [try string(units, encoding, what: "\(what): characters", at: t.start)]
            } else {
                // Column-major: row r is units[r], units[r + rows], …
                let columns = count / rows
                for r in 0..<rows {
                    let row = (0..<columns).map { units[$0 * rows + r] }
                    lines.append(try string(row, encoding, what: "\(what): characters of row \(r + 1)", at: t.start))
                }
            }
            return (name, .text(dimensions: dimensions, lines.joined(separator: "\n")))
        case 6...15:  // numeric classes (double, single, int8 … uint64)
            guard offset < end else {
                guard count == 0 else { throw fail("\(what): a numeric array of dimensions \(dimensions) has no data", at: offset) }
                return (name, .numeric(dimensions: dimensions, values: []))
            }
            let real = try numbers(try tag(at: offset, end: end, what: "\(what): values"), what: "\(what): values")
            guard real.count == count else {
                throw fail("\(what): a numeric array of dimensions \(dimensions) has \(real.count) values, expected \(count)", at: offset)
            }
            return (name, .numeric(dimensions: dimensions, values: real))
        default:
            throw fail("\(what): MATLAB array class \(arrayClass) (sparse or object) is not supported", at: element.start)
        }
    }
}
