import Foundation

/// The element types of `.npy` arrays this library reads and writes: little-endian
/// float32, float64, int32 and int64, and uint8 (for image thumbnails).
public enum NPYDType: String, Sendable, CaseIterable {
    case uint8 = "|u1"
    case float32 = "<f4"
    case float64 = "<f8"
    case int32 = "<i4"
    case int64 = "<i8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8: 1
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }

    /// NumPy's name of the type.
    public var name: String {
        switch self {
        case .uint8: "uint8"
        case .float32: "float32"
        case .float64: "float64"
        case .int32: "int32"
        case .int64: "int64"
        }
    }
}

/// A `.npy` file could not be read or does not hold what was expected. The message names the
/// file and what was expected.
public struct NPYError: Error, CustomStringConvertible, Equatable {
    /// The file (or a description of the source) being read.
    public let source: String
    /// What is wrong.
    public let reason: String
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
    public var description: String { "\(source): \(reason)" }
}

/// An n-dimensional array in NumPy's `.npy` format (format versions 1.0, 2.0 and 3.0).
///
/// The file is the magic string `\x93NUMPY`, a major and minor version byte, the header length
/// (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), an ASCII (version 3:
/// UTF-8) Python dictionary literal with the keys `descr`, `fortran_order` and `shape`, padded
/// with spaces and a newline so the data starts at a multiple of 64 bytes, then the raw
/// elements. Only C order and little-endian numbers are accepted; anything else is an
/// `NPYError` naming the file.
public struct NPYArray: Sendable, Equatable {
    /// The element values, in C (row-major) order.
    public enum Values: Sendable, Equatable {
        case uint8([UInt8])
        case float32([Float])
        case float64([Double])
        case int32([Int32])
        case int64([Int64])

        /// The number of elements.
        public var count: Int {
            switch self {
            case .uint8(let v): v.count
            case .float32(let v): v.count
            case .float64(let v): v.count
            case .int32(let v): v.count
            case .int64(let v): v.count
            }
        }

        /// The element type.
        public var dtype: NPYDType {
            switch self {
            case .uint8: .uint8
            case .float32: .float32
            case .float64: .float64
            case .int32: .int32
            case .int64: .int64
            }
        }
    }

    /// The shape; `[]` for a scalar.
    public let shape: [Int]
    /// The elements.
    public let values: Values

    /// The element type.
    public var dtype: NPYDType { values.dtype }

    /// An array of the given shape; the element count must be the product of the shape.
    public init(shape: [Int], values: Values) {
        precondition(shape.reduce(1, *) == values.count, "NPY shape \(shape) does not match \(values.count) values")
        self.shape = shape
        self.values = values
    }

    /// A 2-D array holding a matrix, in the matrix's own precision.
    public init<T: BLASScalar>(_ matrix: Matrix<T>) {
        let values: Values
        if let f = matrix.elements as? [Float] {
            values = .float32(f)
        } else if let d = matrix.elements as? [Double] {
            values = .float64(d)
        } else {
            values = .float64(matrix.elements.map { Double($0) })
        }
        self.init(shape: [matrix.rows, matrix.columns], values: values)
    }

    /// A 1-D int64 array of labels.
    public init(labels: [Int]) {
        self.init(shape: [labels.count], values: .int64(labels.map { Int64($0) }))
    }

    // MARK: Reading

    /// The largest dimension accepted (2³¹ − 1): larger ones only come from damaged or hostile
    /// headers, and a zero elsewhere in the shape must not let them through to an allocation.
    public static let maximumDimension = Int(Int32.max)

    /// Reads the `.npy` file at `path`.
    public static func read(from path: String) throws -> NPYArray {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw NPYError(source: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw NPYError(source: path, reason: "is a directory, expected a .npy file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw NPYError(source: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try NPYArray(npyData: data, source: path)
    }

    /// Parses the bytes of a `.npy` file; `source` names it in error messages.
    public init(npyData data: Data, source: String = "<data>") throws {
        func fail(_ reason: String) -> NPYError { NPYError(source: source, reason: reason) }
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not a .npy file (the file does not start with the magic string \\x93NUMPY)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(bytes[7]) (expected 1.0, 2.0 or 3.0)")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count >= dataStart else {
            throw fail("truncated header: it announces \(headerLength) bytes, the file has \(bytes.count - headerStart)")
        }
        let headerBytes = bytes[headerStart..<dataStart]
        guard let header = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .ascii) else {
            throw fail("the header is not \(major == 3 ? "UTF-8" : "ASCII") text")
        }
        let fields = try NPYHeader.parse(header, source: source)
        let descr = fields.descr == "<u1" || fields.descr == "=u1" || fields.descr == ">u1" ? "|u1" : fields.descr
        guard let dtype = NPYDType(rawValue: descr.replacingOccurrences(of: "=", with: "<")) else {
            if fields.descr.hasPrefix(">") {
                throw fail("big-endian data (\(fields.descr)) is not supported; expected little-endian float32, float64, int32 or int64")
            }
            throw fail("unsupported dtype \(fields.descr); expected float32 (<f4), float64 (<f8), int32 (<i4), int64 (<i8) or uint8 (|u1)")
        }
        if fields.fortranOrder && fields.shape.count > 1 {
            throw fail("Fortran-order arrays are not supported; save with C order (numpy.ascontiguousarray)")
        }
        let available = bytes.count - dataStart
        // Every size comes from the file: multiply with overflow checks, and allocate only once
        // the data are known to fill the rest of the file exactly (the file size is the bound).
        guard let count = NPYHeader.elementCount(fields.shape, elementSize: dtype.size) else {
            throw fail("shape \(fields.shape) of \(dtype.name) is impossibly large (a dimension above \(NPYArray.maximumDimension), or a size that overflows 64 bits); the header is damaged")
        }
        let expected = count * dtype.size
        guard available >= expected else {
            throw fail("truncated data: shape \(fields.shape) of \(dtype.name) needs \(expected) bytes, the file has \(available)")
        }
        guard available == expected else {
            throw fail("\(available - expected) unexpected bytes after the data of shape \(fields.shape)")
        }
        let values: Values = data.withUnsafeBytes { raw in
            let start = raw.baseAddress!.advanced(by: dataStart)
            func load<T>(_: T.Type) -> [T] {
                [T](unsafeUninitializedCapacity: count) { buf, initialized in
                    memcpy(buf.baseAddress!, start, count * MemoryLayout<T>.size)
                    initialized = count
                }
            }
            switch dtype {
            case .uint8: return .uint8(load(UInt8.self))
            case .float32: return .float32(load(Float.self))
            case .float64: return .float64(load(Double.self))
            case .int32: return .int32(load(Int32.self))
            case .int64: return .int64(load(Int64.self))
            }
        }
        self.init(shape: fields.shape, values: values)
    }

    // MARK: Writing

    /// The bytes of this array as a version 1.0 `.npy` file (version 2.0 if the header is
    /// too long for version 1), with the data aligned to 64 bytes.
    public func encoded() -> Data {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let version: UInt8 = header.utf8.count + 11 < 65_536 ? 1 : 2
        let prefix = version == 1 ? 10 : 12
        let total = prefix + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0])
        let length = header.utf8.count
        if version == 1 {
            out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        } else {
            out.append(contentsOf: (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) })
        }
        out.append(contentsOf: header.utf8)
        switch values {
        case .uint8(let v): out.append(contentsOf: v)
        case .float32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
        case .float64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
        case .int32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
        case .int64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes the array to `path` atomically (temporary file, then rename).
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    // MARK: Conversions

    /// Every element as a `Double`.
    public var doubleValues: [Double] {
        switch values {
        case .uint8(let v): v.map(Double.init)
        case .float32(let v): v.map(Double.init)
        case .float64(let v): v
        case .int32(let v): v.map(Double.init)
        case .int64(let v): v.map(Double.init)
        }
    }

    /// The array as a matrix: a 2-D array as it is, a 1-D array of n values as n×1.
    /// Floating-point types only; `source` names the file in error messages.
    public func matrix<T: BLASScalar>(as _: T.Type = T.self, source: String = "<array>") throws -> Matrix<T> {
        let (rows, columns): (Int, Int)
        switch shape.count {
        case 2: (rows, columns) = (shape[0], shape[1])
        case 1: (rows, columns) = (shape[0], 1)
        default:
            throw NPYError(source: source, reason: "expected a 2-D array (rows × features), got shape \(shape)")
        }
        let elements: [T]
        switch values {
        case .float32(let v): elements = T.self == Float.self ? v as! [T] : v.map { T($0) }
        case .float64(let v): elements = T.self == Double.self ? v as! [T] : v.map { T($0) }
        case .uint8, .int32, .int64:
            throw NPYError(source: source, reason: "expected float32 or float64 values, got \(dtype.name)")
        }
        return Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// The array as a list of integer labels: a 1-D array (or n×1) of integers, or of floats
    /// with integral values; `source` names the file in error messages.
    public func labels(source: String = "<array>") throws -> [Int] {
        guard shape.count == 1 || (shape.count == 2 && shape[1] == 1) else {
            throw NPYError(source: source, reason: "expected a 1-D array of labels, got shape \(shape)")
        }
        switch values {
        case .uint8(let v): return v.map(Int.init)
        case .int32(let v): return v.map(Int.init)
        case .int64(let v): return v.map(Int.init)
        case .float32, .float64:
            let d = doubleValues
            if let k = d.firstIndex(where: { !$0.isFinite || $0 != $0.rounded() || Swift.abs($0) > 9e15 }) {
                throw NPYError(source: source, reason: "label \(k) is \(d[k]), expected an integer")
            }
            return d.map { Int($0) }
        }
    }
}

/// The three fields of a `.npy` header dictionary.
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    /// The element count `∏ shape`, computed with overflow checks, when every dimension is at
    /// most `NPYArray.maximumDimension` and `count · elementSize` fits in `Int`; `nil` otherwise.
    /// (The caller then requires the bytes to be in the file before allocating anything.)
    static func elementCount(_ shape: [Int], elementSize: Int) -> Int? {
        var count = 1
        for n in shape {
            guard n >= 0, n <= NPYArray.maximumDimension else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            if overflow { return nil }
            count = product
        }
        let (_, overflow) = count.multipliedReportingOverflow(by: elementSize)
        return overflow ? nil : count
    }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` in any key order.
    static func parse(_ text: String, source: String) throws -> NPYHeader {
        func fail(_ reason: String) -> NPYError {
            NPYError(source: source, reason: "malformed header \(text.trimmingCharacters(in: .whitespacesAndNewlines)): \(reason)")
        }
        func value(of key: String) throws -> Substring {
            let patterns = ["'\(key)'", "\"\(key)\""]
            guard let keyRange = patterns.lazy.compactMap({ text.range(of: $0) }).first else {
                throw fail("no '\(key)' field")
            }
            var rest = text[keyRange.upperBound...].drop(while: { $0 == " " })
            guard rest.first == ":" else { throw fail("no ':' after '\(key)'") }
            rest = rest.dropFirst().drop(while: { $0 == " " })
            return rest
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
              let end = descrText.dropFirst().firstIndex(of: quote) else {
            throw fail("'descr' is not a quoted string (structured dtypes are not supported)")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let fortranText = try value(of: "fortran_order")
        let fortran: Bool
        if fortranText.hasPrefix("False") { fortran = false } else if fortranText.hasPrefix("True") { fortran = true } else {
            throw fail("'fortran_order' is neither True nor False")
        }
        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw fail("'shape' is not a tuple")
        }
        let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
        var shape = [Int]()
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
            if t.isEmpty { continue }
            guard let n = Int(t), n >= 0 else { throw fail("shape entry '\(t)' is not a non-negative integer") }
            shape.append(n)
        }
        return NPYHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }
}
