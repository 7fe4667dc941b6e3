import DMLNumerics
import Foundation

/// The container formats a weight file can be in.
public enum WeightFileFormat: String, Sendable, Equatable, CaseIterable {
    /// safetensors: header length, JSON header, data buffer.
    case safetensors
    /// The zip archive `torch.save` writes since PyTorch 1.6 (`…/data.pkl`, `…/data/KEY`).
    case pytorchZip = "pytorch-zip"
    /// The legacy `torch.save` stream (`_use_new_zipfile_serialization=False`): magic number,
    /// protocol version and system-info pickles, the object pickle, the storage-key list, then
    /// the raw storages.
    case pytorchLegacy = "pytorch-legacy"
}

/// The tensors of a weight file, by name.
public struct WeightFileContents: Sendable, Equatable {
    /// The format the file was in.
    public let format: WeightFileFormat
    /// Every tensor, by name, contiguous in C order.
    public let tensors: [String: StoredTensor]
    /// The tensor names in file order (safetensors header order; a state dict's insertion order).
    public let names: [String]
    /// safetensors `__metadata__` (empty for PyTorch checkpoints).
    public let metadata: [String: String]
    /// For a PyTorch checkpoint whose top-level dict held the state dict under a key
    /// (`state_dict` or `model`): that key; `nil` when the top-level object was the state dict.
    public let stateDictKey: String?

    /// The contents as read; `names` must list exactly the keys of `tensors`.
    public init(format: WeightFileFormat, tensors: [String: StoredTensor], names: [String], metadata: [String: String] = [:], stateDictKey: String? = nil) {
        self.format = format
        self.tensors = tensors
        self.names = names
        self.metadata = metadata
        self.stateDictKey = stateDictKey
    }

    /// `Σ Π shape` over all tensors: the parameter (and buffer) count.
    public var elementCount: Int { tensors.values.reduce(0) { $0 + $1.elementCount } }
}

/// Reading any supported weight file, with the format told from the content.
public enum WeightFile {
    /// The format of a file from its first bytes: a zip local-file header (`PK\u{3}\u{4}`),
    /// or a pickle of protocol 2–5 (`80 02`…; a legacy checkpoint opens with the protocol-2 pickle
    /// of its magic number, `80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19 2e`), or a plausible safetensors header (8-byte length ≤ the limit followed by `{`);
    /// `nil` for anything else.
    public static func detectFormat(_ bytes: [UInt8]) -> WeightFileFormat? {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .pytorchZip }
        if bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) { return .pytorchLegacy }
        if bytes.count >= 9 {
            var length: UInt64 = 0
            for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * UInt64(k)) }
            if length <= UInt64(SafeTensors.maxHeaderLength), bytes[8] == UInt8(ascii: "{") { return .safetensors }
        }
        return nil
    }

    /// Parses weight-file bytes held in memory in whichever supported format they are in.
    /// `file` names them in errors. Never traps on any input: every size and offset read from
    /// the bytes is checked (overflow-checked) before it is used or allocated.
    public static func parse(_ bytes: [UInt8], file: String = "<memory>") throws(WeightFileError) -> WeightFileContents {
        switch detectFormat(bytes) {
        case .safetensors: return try SafeTensors.parse(bytes, file: file)
        case .pytorchZip: return try TorchCheckpoint.parseZip(bytes, file: file)
        case .pytorchLegacy: return try TorchCheckpoint.parseLegacy(bytes, file: file)
        case nil: throw WeightFileError(file: file, kind: .unrecognizedFormat(firstBytes: Array(bytes.prefix(16))))
        }
    }

    /// Reads the weight file at `path` in whichever supported format it is in.
    public static func read(path: String) throws(WeightFileError) -> WeightFileContents {
        try parse(try readFileBytes(path: path), file: path)
    }
}

/// The whole file at `path` as bytes; errors name the path.
func readFileBytes(path: String) throws(WeightFileError) -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let reason = !exists ? "no such file" : isDirectory.boolValue ? "is a directory" : "cannot be opened for reading"
        throw WeightFileError(file: path, kind: .io(reason))
    }
    defer { try? handle.close() }
    do {
        let data = try handle.readToEnd() ?? Data()
        return [UInt8](data)
    } catch {
        throw WeightFileError(file: path, kind: .io("read failed: \(error.localizedDescription)"))
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
func writeFileAtomically(_ bytes: [UInt8], path: String) throws(WeightFileError) {
    do {
        try AtomicFile.write(Data(bytes), to: path)
    } catch {
        throw WeightFileError(file: path, kind: .io("\(error)"))
    }
}

/// `body` over the raw bytes of `bytes`, with its typed error passed through.
func withRawBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(WeightFileError) -> R) throws(WeightFileError) -> R {
    let result = bytes.withUnsafeBytes { raw -> Result<R, WeightFileError> in
        Result { () throws(WeightFileError) -> R in try body(raw) }
    }
    return try result.get()
}
