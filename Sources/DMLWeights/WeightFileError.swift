/// A weight file could not be read or written: which file, which tensor (when one is at
/// fault) and what was wrong.
///
/// `description` reads like `model.pth: tensor 'conv.weight': storage '3' holds 10 elements,
/// the view needs 27 (offset 0, size [3, 3, 3], stride [9, 3, 1])`.
public struct WeightFileError: Error, Equatable, CustomStringConvertible {
    /// The file as the caller named it (a path, or the name given to an in-memory parse).
    public let file: String
    /// The tensor the problem belongs to, when there is one.
    public let tensor: String?
    /// What went wrong.
    public let kind: Kind

    /// An error about `file` (and `tensor`, when one is at fault).
    public init(file: String, tensor: String? = nil, kind: Kind) {
        self.file = file
        self.tensor = tensor
        self.kind = kind
    }

    /// The kinds of problems a reader or writer reports.
    public enum Kind: Equatable, Sendable {
        /// The first bytes match none of safetensors, a PyTorch zip or a legacy checkpoint.
        case unrecognizedFormat(firstBytes: [UInt8])
        /// The file ends before `what` (which needs `needed` bytes at `offset`).
        case truncated(what: String, offset: Int, needed: Int, available: Int)
        /// The safetensors header length is implausible (larger than the file or the limit).
        case invalidHeaderLength(length: UInt64, fileSize: Int, limit: Int)
        /// The safetensors header is not well-formed JSON.
        case malformedJSON(offset: Int, reason: String)
        /// The safetensors header is JSON but not of the expected structure.
        case invalidHeader(String)
        /// A dtype (safetensors) or storage type (PyTorch) this reader does not know.
        case unknownElementType(String)
        /// A negative dimension, or a shape/stride/offset product that overflows `Int`.
        case invalidShape(shape: [Int], reason: String)
        /// `Π shape · width` differs from the byte range the file gives the tensor.
        case byteRangeMismatch(shape: [Int], elementType: TensorElementType, expected: Int, found: Int)
        /// A tensor's byte range is not inside the data buffer.
        case offsetsOutOfRange(begin: UInt64, end: UInt64, bufferSize: Int)
        /// Two tensors' byte ranges overlap.
        case overlappingTensors(other: String)
        /// A tensor name occurs twice.
        case duplicateName
        /// The pickle stream is malformed at `offset`.
        case malformedPickle(offset: Int, reason: String)
        /// The pickle uses an opcode this safe unpickler does not implement.
        case unsupportedOpcode(opcode: UInt8, offset: Int)
        /// The pickle names a global outside the allowlist (nothing was executed).
        case forbiddenGlobal(module: String, name: String)
        /// The pickled objects are not what a checkpoint holds (e.g. a tensor built from a
        /// non-storage, or a top-level object without a state dict).
        case unexpectedObject(String)
        /// A storage is referenced but absent from the file.
        case missingStorage(key: String)
        /// A storage record's size disagrees with what the pickle declared.
        case storageSizeMismatch(key: String, declaredBytes: Int, foundBytes: Int)
        /// A tensor view reaches past the end of its storage.
        case storageTooShort(key: String, storageElements: Int, neededElements: Int)
        /// A legacy checkpoint's magic number or protocol version is wrong.
        case wrongMagic(String)
        /// The zip container is malformed or uses a feature this reader does not support.
        case invalidZip(String)
        /// The file could not be read or written.
        case io(String)
    }

    public var description: String {
        let prefix = tensor.map { "\(file): tensor '\($0)': " } ?? "\(file): "
        return prefix + kind.message
    }
}

extension WeightFileError.Kind {
    /// The human-readable explanation used by `WeightFileError.description`.
    public var message: String {
        switch self {
        case .unrecognizedFormat(let bytes):
            let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            return "not a safetensors file, PyTorch zip or legacy checkpoint (first bytes \(hex.joined(separator: " "))\(bytes.isEmpty ? "none: the file is empty" : ""))"
        case .truncated(let what, let offset, let needed, let available):
            return "truncated: \(what) needs \(needed) bytes at offset \(offset), only \(available) remain"
        case .invalidHeaderLength(let length, let size, let limit):
            return "header length \(length) is impossible (file size \(size), limit \(limit) bytes)"
        case .malformedJSON(let offset, let reason):
            return "header is not valid JSON at byte \(offset) of the header: \(reason)"
        case .invalidHeader(let reason):
            return "invalid header: \(reason)"
        case .unknownElementType(let name):
            return "unknown element type \(name) (known: \(TensorElementType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .invalidShape(let shape, let reason):
            return "invalid shape \(shape): \(reason)"
        case .byteRangeMismatch(let shape, let type, let expected, let found):
            return "shape \(shape) of \(type.rawValue) needs \(expected) bytes, its data_offsets span \(found)"
        case .offsetsOutOfRange(let begin, let end, let size):
            return "data_offsets [\(begin), \(end)] are not inside the data buffer of \(size) bytes"
        case .overlappingTensors(let other):
            return "its bytes overlap those of tensor '\(other)'"
        case .duplicateName:
            return "the name occurs more than once"
        case .malformedPickle(let offset, let reason):
            return "malformed pickle at byte \(offset): \(reason)"
        case .unsupportedOpcode(let opcode, let offset):
            return "unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset)"
        case .forbiddenGlobal(let module, let name):
            return "the pickle refers to \(module).\(name), which is not on the allowlist of a weight file (nothing was executed)"
        case .unexpectedObject(let reason):
            return reason
        case .missingStorage(let key):
            return "storage '\(key)' is missing from the file"
        case .storageSizeMismatch(let key, let declared, let found):
            return "storage '\(key)' should hold \(declared) bytes, the file has \(found)"
        case .storageTooShort(let key, let elements, let needed):
            return "storage '\(key)' holds \(elements) elements, the view needs \(needed)"
        case .wrongMagic(let reason):
            return "not a legacy PyTorch checkpoint: \(reason)"
        case .invalidZip(let reason):
            return "invalid zip container: \(reason)"
        case .io(let reason):
            return reason
        }
    }
}

/// The kinds are thrown on their own inside the readers (typed throws) and wrapped with the
/// file and tensor names before they reach the caller.
extension WeightFileError.Kind: Error {}
