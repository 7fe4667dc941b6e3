import Foundation
import Testing
@testable import DMLWeights

/// The committed fixtures written by `scripts/fixtures/make_weight_fixtures.py` and what
/// PyTorch said they hold.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func path(_ name: String) -> String { directory + "/" + name }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// One tensor as PyTorch described it.
    struct Tensor {
        let dtype: String
        let shape: [Int]
        let bytes: [UInt8]
        let values: [Double]
    }

    /// One fixture file: its tensors, the state-dict key and the safetensors metadata.
    struct File {
        let tensors: [String: Tensor]
        let key: String?
        let metadata: [String: String]?
    }

    static let expected: [String: File] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var out: [String: File] = [:]
        for (file, value) in root {
            let entry = value as! [String: Any]
            var tensors: [String: Tensor] = [:]
            for (name, t) in entry["tensors"] as! [String: Any] {
                let d = t as! [String: Any]
                tensors[name] = Tensor(dtype: d["dtype"] as! String, shape: (d["shape"] as! [NSNumber]).map(\.intValue),
                                       bytes: hexBytes(d["hex"] as! String),
                                       values: (d["values"] as! [String]).map { Double($0)! })
            }
            out[file] = File(tensors: tensors, key: entry["key"] as? String, metadata: entry["metadata"] as? [String: String])
        }
        return out
    }()

    static let pytorchFiles = ["state_zip.pth", "state_legacy.pth", "views_zip.pth", "views_legacy.pth",
                               "nested_state_dict.pth", "nested_model_legacy.pth"]
    static let allFiles = ["dtypes.safetensors"] + pytorchFiles
}

func hexBytes(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.utf8.makeIterator()
    while let hi = it.next(), let lo = it.next() {
        func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        out.append(v(hi) << 4 | v(lo))
    }
    return out
}

/// The `WeightFileError` that `body` throws; records an issue when it succeeds or throws
/// anything else.
func weightError(_ sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Any) -> WeightFileError? {
    do {
        _ = try body()
        Issue.record("expected a WeightFileError, the call succeeded", sourceLocation: sourceLocation)
    } catch let error as WeightFileError {
        return error
    } catch {
        Issue.record("expected a WeightFileError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// The case name of an error kind, to check the category of errors whose details vary.
func category(_ kind: WeightFileError.Kind?) -> String {
    guard let kind else { return "none" }
    return String(String(describing: kind).prefix { $0 != "(" })
}

/// Builds pickle byte streams by hand, opcode by opcode (protocol 2).
struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func op(_ c: Character) { bytes.append(c.asciiValue!) }
    mutating func string(_ s: String) {
        op("X")
        bytes += withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8)
    }
    mutating func int(_ i: Int) {
        if (0..<256).contains(i) { op("K"); bytes.append(UInt8(i)) } else if let v = Int32(exactly: i) {
            op("J"); bytes += withUnsafeBytes(of: v.littleEndian, Array.init)
        } else {
            bytes += [0x8A, 8] + withUnsafeBytes(of: Int64(i).littleEndian, Array.init)
        }
    }
    mutating func global(_ module: String, _ name: String) { op("c"); bytes += Array("\(module)\n\(name)\n".utf8) }
    mutating func tuple(_ items: [Int]) { op("("); items.forEach { int($0) }; op("t") }
    mutating func stop() { op(".") }

    /// `OrderedDict()` on the stack.
    mutating func orderedDict() { global("collections", "OrderedDict"); op(")"); op("R") }

    /// `_rebuild_tensor_v2(storage(type, key, numel), offset, size, stride, False, OrderedDict())`.
    mutating func tensor(storageType: String = "FloatStorage", key: String, numel: Int, offset: Int, size: [Int], stride: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        op("(")
        op("("); string("storage"); global("torch", storageType); string(key); string("cpu"); int(numel); op("t"); op("Q")
        int(offset); tuple(size); tuple(stride); bytes.append(0x89); orderedDict()
        op("t"); op("R")
    }
}

/// A legacy checkpoint around `object` (a full pickle): magic, protocol 1001, an empty
/// system-info dict, the object, the key list, then each storage's count and bytes.
func legacyFile(object: [UInt8], keys: [String], storages: [(count: UInt64, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + TorchCheckpoint.legacyMagic + [0x2E]
    out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
    out += [0x80, 0x02, 0x7D, 0x2E]
    out += object
    var list = PickleBuilder()
    list.op("]"); list.op("(")
    keys.forEach { list.string($0) }
    list.op("e"); list.stop()
    out += list.bytes
    for s in storages { out += withUnsafeBytes(of: s.count.littleEndian, Array.init) + s.bytes }
    return out
}

/// A legacy checkpoint of one float tensor `w` viewing storage "0" of `storageFloats` floats.
func oneTensorLegacy(storageFloats: Int, declared: Int? = nil, offset: Int = 0, size: [Int], stride: [Int], fileCount: UInt64? = nil) -> [UInt8] {
    var p = PickleBuilder()
    p.orderedDict()
    p.op("(")
    p.string("w")
    p.tensor(key: "0", numel: declared ?? storageFloats, offset: offset, size: size, stride: stride)
    p.op("u")
    p.stop()
    let data = (0..<storageFloats).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
    return legacyFile(object: p.bytes, keys: ["0"], storages: [(fileCount ?? UInt64(storageFloats), data)])
}

/// A safetensors file from a header text and a data buffer (header padded to 8 bytes).
func safetensorsFile(header: String, data: [UInt8], padTo8: Bool = true) -> [UInt8] {
    var h = Array(header.utf8)
    if padTo8 { h += Array(repeating: 0x20, count: (8 - h.count % 8) % 8) }
    return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
}
