import DMLNumerics
import Foundation

/// Named tensors and integers: the whole state of a model (parameters, batch-norm running
/// statistics, dropout counters) and of its optimizer (moments, step count), with a versioned
/// binary encoding for checkpoints.
///
/// Binary format, version 1, all integers little-endian:
/// ```
/// magic "DMLTENSR" (8 bytes) | version u32 | scalar size u32 (4 = Float32, 8 = Float64)
/// | integer count u64 | tensor count u64
/// | per integer (sorted by name): name length u32, UTF-8 name, value i64
/// | per tensor (sorted by name): name length u32, UTF-8 name, rows u64, columns u64,
///   rows·columns IEEE-754 values, row-major
/// | CRC-32 (IEEE) of every preceding byte, u32
/// ```
/// A file of the other scalar size is converted on reading.
public struct TensorArchive<Scalar: BLASScalar>: Equatable, Sendable {
    /// The named tensors.
    public var tensors: [String: Matrix<Scalar>]
    /// The named integers (step counters).
    public var integers: [String: Int64]

    /// The current format version.
    public static var formatVersion: UInt32 { 1 }
    static var magic: [UInt8] { Array("DMLTENSR".utf8) }

    /// An archive of the given tensors and integers.
    public init(tensors: [String: Matrix<Scalar>] = [:], integers: [String: Int64] = [:]) {
        self.tensors = tensors
        self.integers = integers
    }

    /// The tensor `name`, which must have the given shape.
    public func tensor(_ name: String, rows: Int, columns: Int) throws -> Matrix<Scalar> {
        guard let t = tensors[name] else { throw TensorArchiveError.missing(name: name) }
        guard t.rows == rows && t.columns == columns else {
            throw TensorArchiveError.shapeMismatch(name: name, expected: "\(rows)×\(columns)", found: "\(t.rows)×\(t.columns)")
        }
        return t
    }

    /// The integer `name`.
    public func integer(_ name: String) throws -> Int64 {
        guard let v = integers[name] else { throw TensorArchiveError.missing(name: name) }
        return v
    }

    /// Adds every entry of `other` with `prefix` prepended to its name (replacing equal names).
    public mutating func merge(_ other: TensorArchive, prefix: String = "") {
        for (k, v) in other.tensors { tensors[prefix + k] = v }
        for (k, v) in other.integers { integers[prefix + k] = v }
    }

    /// The entries whose names start with `prefix`, with the prefix removed.
    public func entries(withPrefix prefix: String) -> TensorArchive {
        var out = TensorArchive()
        for (k, v) in tensors where k.hasPrefix(prefix) { out.tensors[String(k.dropFirst(prefix.count))] = v }
        for (k, v) in integers where k.hasPrefix(prefix) { out.integers[String(k.dropFirst(prefix.count))] = v }
        return out
    }

    /// The binary encoding (see the type's documentation).
    public func encoded() -> Data {
        var out = ByteWriter()
        out.bytes(Self.magic)
        out.u32(Self.formatVersion)
        out.u32(UInt32(MemoryLayout<Scalar>.size))
        out.u64(UInt64(integers.count))
        out.u64(UInt64(tensors.count))
        for name in integers.keys.sorted() {
            out.string(name)
            out.u64(UInt64(bitPattern: integers[name]!))
        }
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            out.string(name)
            out.u64(UInt64(t.rows))
            out.u64(UInt64(t.columns))
            t.withUnsafeBufferPointer { out.scalars($0) }
        }
        out.u32(CRC32.checksum(out.data))
        return out.data
    }

    /// Decodes an archive; `source` (a path) names the data in errors.
    public init(decoding data: Data, source: String = "archive") throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw TensorArchiveError.truncated(source: source, reading: "header") }
        let body = bytes[0..<(bytes.count - 4)]
        var reader = ByteReader(bytes: bytes, end: bytes.count - 4, source: source)
        guard try reader.bytes(8, "magic") == Self.magic else {
            throw TensorArchiveError.notAnArchive(source: source)
        }
        let version = try reader.u32("version")
        guard version == Self.formatVersion else {
            throw TensorArchiveError.unsupportedVersion(source: source, version: version, supported: Self.formatVersion)
        }
        let stored = Array(bytes[(bytes.count - 4)...])
        let expected = UInt32(stored[0]) | UInt32(stored[1]) << 8 | UInt32(stored[2]) << 16 | UInt32(stored[3]) << 24
        let actual = CRC32.checksum(body)
        guard expected == actual else {
            throw TensorArchiveError.checksumMismatch(source: source)
        }
        let scalarSize = try reader.u32("scalar size")
        guard scalarSize == 4 || scalarSize == 8 else {
            throw TensorArchiveError.corrupt(source: source, reason: "scalar size \(scalarSize), expected 4 or 8")
        }
        let integerCount = try reader.u64("integer count")
        let tensorCount = try reader.u64("tensor count")
        var integers: [String: Int64] = [:], tensors: [String: Matrix<Scalar>] = [:]
        for _ in 0..<integerCount {
            let name = try reader.string()
            integers[name] = Int64(bitPattern: try reader.u64("integer \(name)"))
        }
        for _ in 0..<tensorCount {
            let name = try reader.string()
            let rows = try reader.u64("rows of \(name)"), columns = try reader.u64("columns of \(name)")
            // Bounded each (an empty 2⁶³ × 0 tensor would otherwise pass the size check below).
            guard rows <= UInt64(Int32.max), columns <= UInt64(Int32.max) else {
                throw TensorArchiveError.corrupt(source: source, reason: "tensor \(name) of \(rows)×\(columns), expected dimensions of at most \(Int32.max)")
            }
            let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
            guard !overflow, count <= UInt64(reader.remaining) / UInt64(scalarSize) else {
                throw TensorArchiveError.truncated(source: source, reading: "tensor \(name) (\(rows)×\(columns))")
            }
            let values: [Scalar]
            if Int(scalarSize) == MemoryLayout<Scalar>.size {
                values = try reader.values(Int(count), name, Scalar.self)  // same type: a plain copy
            } else if scalarSize == 4 {
                values = try reader.values(Int(count), name, Float.self).map { Scalar($0) }
            } else {
                values = try reader.values(Int(count), name, Double.self).map { Scalar($0) }
            }
            tensors[name] = Matrix(rows: Int(rows), columns: Int(columns), elements: values)
        }
        guard reader.remaining == 0 else {
            throw TensorArchiveError.corrupt(source: source, reason: "\(reader.remaining) unexpected bytes after the last tensor")
        }
        self.init(tensors: tensors, integers: integers)
    }

    /// Writes the encoding to `path` atomically (`AtomicFile`).
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }

    /// Reads an archive from `path`.
    public init(contentsOf path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TensorArchiveError.unreadable(source: path, reason: "\(error.localizedDescription)")
        }
        try self.init(decoding: data, source: path)
    }
}

/// Why an archive could not be read or did not match a model.
public enum TensorArchiveError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(source: String, reason: String)
    /// The data does not start with the archive magic.
    case notAnArchive(source: String)
    /// The format version is not supported.
    case unsupportedVersion(source: String, version: UInt32, supported: UInt32)
    /// The data ends early.
    case truncated(source: String, reading: String)
    /// The checksum does not match (the file was damaged or cut).
    case checksumMismatch(source: String)
    /// A field has an impossible value.
    case corrupt(source: String, reason: String)
    /// A named entry a model or optimizer needs is absent.
    case missing(name: String)
    /// A named tensor has a different shape than the model's.
    case shapeMismatch(name: String, expected: String, found: String)
    /// The archive has entries the model does not have.
    case unexpected(names: [String])

    public var description: String {
        switch self {
        case .unreadable(let s, let r): return "\(s): cannot read: \(r)"
        case .notAnArchive(let s): return "\(s): not a DML tensor archive (missing the DMLTENSR magic)"
        case .unsupportedVersion(let s, let v, let sup): return "\(s): archive format version \(v), this build reads version \(sup)"
        case .truncated(let s, let what): return "\(s): truncated while reading \(what)"
        case .checksumMismatch(let s): return "\(s): checksum mismatch: the file is damaged or incomplete"
        case .corrupt(let s, let r): return "\(s): corrupt archive: \(r)"
        case .missing(let n): return "archive has no entry \(n)"
        case .shapeMismatch(let n, let e, let f): return "archive entry \(n) is \(f), the model expects \(e)"
        case .unexpected(let names): return "archive has entries the model does not: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")"
        }
    }
}
