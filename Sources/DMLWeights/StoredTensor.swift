/// The element type of a tensor as weight files store it (safetensors' `dtype` strings and
/// PyTorch's storage types map onto these).
public enum TensorElementType: String, Sendable, Hashable, CaseIterable, Codable {
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float32 = "F32"
    case float64 = "F64"
    case int8 = "I8"
    case uint8 = "U8"
    case int16 = "I16"
    case int32 = "I32"
    case int64 = "I64"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .int8, .uint8, .bool: 1
        case .float16, .bfloat16, .int16: 2
        case .float32, .int32: 4
        case .float64, .int64: 8
        }
    }

    /// Whether the elements are floating-point numbers (convertible to `Float` and `Double`).
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }
}

/// A tensor read from or written to a weight file: element type, logical shape (PyTorch's,
/// e.g. `O × C/g × kh × kw` for a convolution weight) and the elements as little-endian bytes
/// in C (row-major) order.
///
/// Invariant: `bytes.count == elementCount · elementType.byteWidth`, where `elementCount` is the
/// product of `shape` (1 for a scalar, `shape == []`). The initializers check it with
/// overflow-checked arithmetic, so a shape read from a file can never make a later reader
/// index out of range.
public struct StoredTensor: Sendable, Equatable {
    /// The element type.
    public let elementType: TensorElementType
    /// The logical shape; `[]` is a scalar.
    public let shape: [Int]
    /// The elements, little-endian, C order.
    public let bytes: [UInt8]

    /// `Π shape`, the number of elements.
    public var elementCount: Int { bytes.count / elementType.byteWidth }

    /// A tensor over raw little-endian bytes; throws when a dimension is negative, the element
    /// count overflows, or the byte count differs from `Π shape · byteWidth`.
    public init(elementType: TensorElementType, shape: [Int], bytes: [UInt8]) throws(StoredTensorError) {
        let count = try StoredTensor.checkedByteCount(elementType: elementType, shape: shape)
        guard count == bytes.count else {
            throw .byteCountMismatch(shape: shape, elementType: elementType, expected: count, found: bytes.count)
        }
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// A `float32` tensor of the given shape; `values.count` must equal `Π shape`.
    public init(shape: [Int], float32 values: [Float]) throws(StoredTensorError) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try self.init(elementType: .float32, shape: shape, bytes: bytes)
    }

    /// `Π shape · byteWidth`, or an error when a dimension is negative or the product overflows.
    public static func checkedByteCount(elementType: TensorElementType, shape: [Int]) throws(StoredTensorError) -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else { throw .negativeDimension(shape: shape) }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .sizeOverflow(shape: shape) }
            count = product
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: elementType.byteWidth)
        guard !overflow else { throw .sizeOverflow(shape: shape) }
        return total
    }

    /// The elements converted to `Float` (exact for `F16`, `BF16` and `F32`; `F64` rounds to
    /// nearest). Throws for integer and boolean tensors.
    public func floatValues() throws(StoredTensorError) -> [Float] {
        try convertedValues { Float($0) }
    }

    /// The elements converted to `Double` (exact for every floating-point element type).
    /// Throws for integer and boolean tensors.
    public func doubleValues() throws(StoredTensorError) -> [Double] {
        try convertedValues { $0 }
    }

    /// The elements of an integer tensor as `Int64`. Throws for floating-point tensors.
    public func integerValues() throws(StoredTensorError) -> [Int64] {
        guard !elementType.isFloatingPoint else { throw .notConvertible(elementType: elementType, to: "integers") }
        let n = elementCount, type = elementType
        return bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Int64] in
            switch type {
            case .int8: return (0..<n).map { Int64(raw.load(fromByteOffset: $0, as: Int8.self)) }
            case .uint8, .bool: return (0..<n).map { Int64(raw[$0]) }
            case .int16: return (0..<n).map { Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) }
            case .int32: return (0..<n).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            default: return (0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            }
        }
    }

    private func convertedValues<T>(_ convert: (Double) -> T) throws(StoredTensorError) -> [T] {
        guard elementType.isFloatingPoint else {
            throw .notConvertible(elementType: elementType, to: "floating-point numbers")
        }
        let n = elementCount, type = elementType
        return bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [T] in
            switch type {
            case .float32:
                return (0..<n).map { convert(Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))))) }
            case .float64:
                return (0..<n).map { convert(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
            case .float16:
                return (0..<n).map { convert(Double(StoredTensor.halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))))) }
            default:  // bfloat16: the high half of a binary32
                return (0..<n).map { convert(Double(Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16))) }
            }
        }
    }

    /// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // ±m · 2^-24, exactly representable in binary32.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }
}

/// A tensor's declared shape, type and bytes disagree, or its elements cannot be converted.
public enum StoredTensorError: Error, Equatable, CustomStringConvertible {
    /// A dimension is negative.
    case negativeDimension(shape: [Int])
    /// `Π shape · byteWidth` does not fit in `Int`.
    case sizeOverflow(shape: [Int])
    /// The byte count differs from what the shape and type require.
    case byteCountMismatch(shape: [Int], elementType: TensorElementType, expected: Int, found: Int)
    /// A conversion the element type does not support (e.g. an integer tensor read as floats).
    case notConvertible(elementType: TensorElementType, to: String)

    public var description: String {
        switch self {
        case .negativeDimension(let shape): "shape \(shape) has a negative dimension"
        case .sizeOverflow(let shape): "shape \(shape) is too large (its byte count overflows)"
        case .byteCountMismatch(let shape, let type, let expected, let found):
            "shape \(shape) of \(type.rawValue) needs \(expected) bytes, found \(found)"
        case .notConvertible(let type, let target): "a \(type.rawValue) tensor cannot be read as \(target)"
        }
    }
}
