import Foundation
import Testing
@testable import DMLWeights

/// Bad PyTorch checkpoints: each gives its specific error, naming the file and the tensor.
@Suite struct CheckpointErrorTests {
    @Test func theHandBuiltLegacyFileReads() throws {
        let c = try WeightFile.parse(oneTensorLegacy(storageFloats: 12, offset: 1, size: [2, 3], stride: [1, 2]), file: "h.pth")
        #expect(c.format == .pytorchLegacy && c.names == ["w"])
        // w[i][j] = storage[1 + i + 2j]
        #expect(try c.tensors["w"]!.floatValues() == [1, 3, 5, 2, 4, 6])
    }

    /// A legacy storage view `(key, offset 2, size 4)` of a root of 8 floats, wrapped in
    /// `_rebuild_from_type_v2` and `_rebuild_parameter`, built by NEWOBJ'd `OrderedDict`.
    @Test func storageViewsAndTensorWrappers() throws {
        var p = PickleBuilder()
        p.global("collections", "OrderedDict"); p.op(")"); p.raw([0x81])  // NEWOBJ
        p.op("("); p.string("v")
        p.global("torch._tensor", "_rebuild_from_type_v2")
        p.op("(")
        p.global("torch._utils", "_rebuild_parameter")
        p.global("torch.nn.parameter", "Parameter")
        p.op("(")
        // _rebuild_tensor_v2(storage view, 1, (2,), (1,), False, OrderedDict())
        p.global("torch._utils", "_rebuild_tensor_v2")
        p.op("(")
        p.op("("); p.string("storage"); p.global("torch", "FloatStorage"); p.string("0"); p.string("cpu"); p.int(8)
        p.op("("); p.string("0v"); p.int(2); p.int(4); p.op("t")
        p.op("t"); p.op("Q")
        p.int(1); p.tuple([2]); p.tuple([1]); p.raw([0x89]); p.orderedDict()
        p.op("t"); p.op("R")
        p.raw([0x88]); p.orderedDict()  // requires_grad, hooks
        p.op("t")  // args of _rebuild_parameter
        p.op("}")  // state
        p.op("t"); p.op("R")
        p.op("u"); p.stop()
        let data = (0..<8).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }
        let c = try WeightFile.parse(legacyFile(object: p.bytes, keys: ["0"], storages: [(8, data)]))
        #expect(try c.tensors["v"]!.floatValues() == [3, 4])
    }

    @Test func aViewPastItsStorageIsRefused() {
        let e = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 8, size: [3, 3], stride: [3, 1]), file: "short.pth") }
        #expect(e?.kind == .storageTooShort(key: "0", storageElements: 8, neededElements: 9))
        #expect(e?.tensor == "w")
        #expect(e?.description == "short.pth: tensor 'w': storage '0' holds 8 elements, the view needs 9")
        let offset = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 8, offset: 7, size: [2], stride: [1])) }
        #expect(offset?.kind == .storageTooShort(key: "0", storageElements: 8, neededElements: 9))
    }

    @Test func overflowingAndNegativeViews() {
        let huge = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 4, size: [1 << 62, 1 << 62], stride: [1, 1])) }
        #expect(category(huge?.kind) == "invalidShape" && huge?.tensor == "w")
        let farStride = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 4, size: [3], stride: [Int.max / 2 + 1])) }
        #expect(category(farStride?.kind) == "invalidShape")
        let negative = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 4, size: [2], stride: [-1])) }
        #expect(category(negative?.kind) == "invalidShape")
        let rank = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 4, size: [2, 2], stride: [1])) }
        #expect(category(rank?.kind) == "invalidShape")
    }

    @Test func storageCountsMustAgree() {
        // The pickle declares 12 elements, the file's record says 8 (and holds 8).
        let e = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 8, declared: 12, size: [2], stride: [1]), file: "m.pth") }
        #expect(e?.kind == .storageSizeMismatch(key: "0", declaredBytes: 48, foundBytes: 32))
        // The record claims 2^61 elements: refused before anything is allocated.
        let giant = weightError { try WeightFile.parse(oneTensorLegacy(storageFloats: 8, size: [2], stride: [1], fileCount: 1 << 61)) }
        #expect(category(giant?.kind) == "truncated")
    }

    @Test func aStorageAbsentFromTheKeyListIsMissing() {
        var p = PickleBuilder()
        p.orderedDict(); p.op("("); p.string("w")
        p.tensor(key: "7", numel: 2, offset: 0, size: [2], stride: [1])
        p.op("u"); p.stop()
        let e = weightError { try WeightFile.parse(legacyFile(object: p.bytes, keys: [], storages: []), file: "k.pth") }
        #expect(e?.kind == .missingStorage(key: "7") && e?.tensor == nil)
    }

    @Test func wrongMagicAndProtocolVersion() {
        var good = oneTensorLegacy(storageFloats: 2, size: [2], stride: [1])
        good[5] ^= 0xFF  // inside the magic number
        #expect(category(weightError { try WeightFile.parse(good) }?.kind) == "wrongMagic")
        var version = oneTensorLegacy(storageFloats: 2, size: [2], stride: [1])
        version[18] = 0xEA  // 1001 → 1002
        let e = weightError { try WeightFile.parse(version, file: "v.pth") }
        #expect(category(e?.kind) == "wrongMagic" && e?.description.contains("expected 1001") == true)
        var notTorch = PickleBuilder()
        notTorch.op("}"); notTorch.stop()
        #expect(category(weightError { try WeightFile.parse(notTorch.bytes) }?.kind) == "wrongMagic")
    }

    @Test func forbiddenGlobalsAreRefusedWherever() throws {
        // In the object pickle, as a REDUCE target.
        var p = PickleBuilder()
        p.global("builtins", "eval"); p.op("("); p.string("1+1"); p.op("t"); p.op("R"); p.stop()
        let e = weightError { try WeightFile.parse(legacyFile(object: p.bytes, keys: [], storages: []), file: "e.pth") }
        #expect(e?.kind == .forbiddenGlobal(module: "builtins", name: "eval"))
        #expect(e?.description == "e.pth: the pickle refers to builtins.eval, which is not on the allowlist of a weight file (nothing was executed)")
        // By STACK_GLOBAL.
        var s = PickleBuilder()
        s.string("os"); s.string("system"); s.raw([0x93]); s.stop()
        #expect(weightError { try WeightFile.parse(legacyFile(object: s.bytes, keys: [], storages: [])) }?.kind == .forbiddenGlobal(module: "os", name: "system"))
        // A renamed module in a real zip checkpoint (same length, so the zip stays consistent
        // except for the CRC, which is the first thing to catch it).
        var zip = try Fixtures.bytes("state_zip.pth")
        let needle = Array("collections\nOrderedDict".utf8)
        let at = try #require((0...(zip.count - needle.count)).first { Array(zip[$0..<($0 + needle.count)]) == needle })
        zip[at + 10] = UInt8(ascii: "z")
        #expect(category(weightError { try WeightFile.parse(zip) }?.kind) == "invalidZip")
        // The same change in a legacy file reaches the unpickler.
        var legacy = try Fixtures.bytes("state_legacy.pth")
        let at2 = try #require((0...(legacy.count - needle.count)).first { Array(legacy[$0..<($0 + needle.count)]) == needle })
        legacy[at2 + 10] = UInt8(ascii: "z")
        #expect(weightError { try WeightFile.parse(legacy, file: "s.pth") }?.kind == .forbiddenGlobal(module: "collectionz", name: "OrderedDict"))
    }

    @Test func malformedPickles() {
        func parse(_ build: (inout PickleBuilder) -> Void) -> WeightFileError.Kind? {
            var p = PickleBuilder()
            build(&p)
            return weightError { try WeightFile.parse(legacyFile(object: p.bytes, keys: [], storages: [])) }?.kind
        }
        #expect(parse { $0.raw([0xFE]) } == .unsupportedOpcode(opcode: 0xFE, offset: 27))
        #expect(category(parse { $0.raw([UInt8(ascii: "h"), 9]); $0.stop() }) == "malformedPickle")  // GET of nothing
        #expect(category(parse { $0.op("t"); $0.stop() }) == "malformedPickle")  // TUPLE without MARK
        #expect(category(parse { $0.op("s") }) == "malformedPickle")  // SETITEM on an empty stack
        #expect(category(parse { $0.raw([UInt8(ascii: "X"), 0xFF, 0xFF, 0xFF, 0xFF]) }) == "truncated")  // 4 GiB string
        #expect(category(parse { $0.op("N"); $0.op("N"); $0.stop() }) == "malformedPickle")  // two values at STOP
        #expect(category(parse { $0.op("N"); $0.op(")"); $0.op("R"); $0.stop() }) == "malformedPickle")  // calling None
        #expect(category(parse { $0.global("torch", "FloatStorage"); $0.op(")"); $0.op("R"); $0.stop() }) == "malformedPickle")
        #expect(category(parse { $0.string("x"); $0.op("Q"); $0.stop() }) == "malformedPickle")  // bad persistent id
        // A list holding itself is not a state dict (and does not loop).
        #expect(category(parse { $0.op("]"); $0.raw([UInt8(ascii: "q"), 0, UInt8(ascii: "h"), 0]); $0.op("a"); $0.stop() }) == "unexpectedObject")
    }

    /// Hostile nesting is refused or freed without recursion: 300,000 lists inside each
    /// other, and tuples nested past the limit.
    @Test func deepNestingNeverOverflowsTheStack() {
        let n = 300_000
        var lists = PickleBuilder()
        lists.raw(Array(repeating: UInt8(ascii: "]"), count: n) + Array(repeating: UInt8(ascii: "a"), count: n - 1))
        lists.stop()
        #expect(category(weightError { try WeightFile.parse(legacyFile(object: lists.bytes, keys: [], storages: [])) }?.kind) == "unexpectedObject")
        var tuples = PickleBuilder()
        tuples.op(")")
        tuples.raw(Array(repeating: 0x85, count: n))  // TUPLE1
        tuples.stop()
        let e = weightError { try WeightFile.parse(legacyFile(object: tuples.bytes, keys: [], storages: [])) }
        #expect(e?.kind == .malformedPickle(offset: 27 + Unpickler.maxTupleDepth, reason: "tuples nested deeper than \(Unpickler.maxTupleDepth)"))
        // Lists nested after the fact, through the memo: L0 ∋ L1 ∋ L2 ∋ …
        var chain = PickleBuilder()
        chain.op("]"); chain.raw([UInt8(ascii: "r"), 0, 0, 0, 0])
        for k in 0..<100_000 {
            chain.raw([UInt8(ascii: "j")] + withUnsafeBytes(of: UInt32(k).littleEndian, Array.init))
            chain.op("]"); chain.raw([UInt8(ascii: "r")] + withUnsafeBytes(of: UInt32(k + 1).littleEndian, Array.init))
            chain.op("a"); chain.op("0")
        }
        chain.stop()
        #expect(category(weightError { try WeightFile.parse(legacyFile(object: chain.bytes, keys: [], storages: [])) }?.kind) == "unexpectedObject")
    }

    @Test func topLevelObjectsWithoutAStateDict() {
        var p = PickleBuilder()
        p.op("}"); p.op("("); p.string("epoch"); p.int(3); p.string("state_dict"); p.op("N"); p.op("u"); p.stop()
        let e = weightError { try WeightFile.parse(legacyFile(object: p.bytes, keys: [], storages: []), file: "c.pth") }
        #expect(e?.description == "c.pth: the top-level dict (keys 'epoch', 'state_dict') is not a state dict and holds none under 'state_dict' or 'model'")
        var q = PickleBuilder()
        q.op("}"); q.op("("); q.string("model"); q.op("}"); q.op("("); q.string("x"); q.int(1); q.op("u"); q.op("u"); q.stop()
        let f = weightError { try WeightFile.parse(legacyFile(object: q.bytes, keys: [], storages: []), file: "c.pth") }
        #expect(f?.description == "c.pth: the dict under 'model' is not a state dict: entry 'x' is an int, not a tensor")
        var l = PickleBuilder()
        l.op("]"); l.stop()
        #expect(category(weightError { try WeightFile.parse(legacyFile(object: l.bytes, keys: [], storages: [])) }?.kind) == "unexpectedObject")
    }

    @Test func unrecognizedFormatsShowTheFirstBytes() throws {
        let e = weightError { try WeightFile.parse(Array("hello world".utf8), file: "model.pth") }
        #expect(e?.description == "model.pth: not a safetensors file, PyTorch zip or legacy checkpoint (first bytes 68 65 6c 6c 6f 20 77 6f 72 6c 64)")
        #expect(category(weightError { try WeightFile.parse([], file: "empty.pth") }?.kind) == "unrecognizedFormat")
        let missing = weightError { try WeightFile.read(path: "/nonexistent/model.pth") }
        #expect(missing?.description == "/nonexistent/model.pth: no such file")
    }

    /// Every truncation of every PyTorch fixture is an error of the expected kind: zip files
    /// lose their end record (`invalidZip`), legacy files run out inside a pickle or storage
    /// (`truncated`).
    @Test(arguments: Fixtures.pytorchFiles)
    func everyTruncationIsAClearError(file: String) throws {
        let bytes = try Fixtures.bytes(file)
        let legacy = file.contains("legacy")
        // Every offset of the first 256 bytes (the leading pickles, zip headers), then every 5th
        // (legacy) or 13th (zip) to keep the debug-build suite fast.
        let cuts = Array(0..<min(256, bytes.count)) + Array(stride(from: 256, to: bytes.count, by: legacy ? 5 : 13))
        for cut in cuts {
            let prefix = Array(bytes[..<cut])
            let e = weightError { legacy ? try TorchCheckpoint.parseLegacy(prefix, file: file) : try TorchCheckpoint.parseZip(prefix, file: file) }
            #expect(category(e?.kind) == (legacy ? "truncated" : cut < 22 ? "truncated" : "invalidZip"), "\(file) cut at \(cut): \(String(describing: e))")
            #expect(e?.file == file)
        }
    }

    /// Flipping bytes anywhere never traps. In a zip checkpoint every flip inside an entry's
    /// data fails the CRC check.
    @Test(arguments: Fixtures.pytorchFiles)
    func flippedBytesNeverCrash(file: String) throws {
        let bytes = try Fixtures.bytes(file)
        var errors = 0, successes = 0
        for k in stride(from: 0, to: bytes.count, by: 3) {
            var b = bytes
            b[k] ^= k % 2 == 0 ? 0xFF : 0x04
            do { _ = try WeightFile.parse(b, file: file); successes += 1 } catch { errors += 1 }
        }
        #expect(errors > 0)
        if !file.contains("legacy") {
            // The first stored byte of data.pkl (after the 30-byte local header and its name).
            let start = 30 + Int(bytes[26]) + Int(bytes[28]) + Int(bytes[29]) << 8
            var b = bytes
            b[start + 5] ^= 0x01
            let e = weightError { try WeightFile.parse(b, file: file) }
            #expect(category(e?.kind) == "invalidZip" && e?.description.contains("CRC-32") == true)
        }
    }
}

/// The strided copy and the byte swap on small hand-computed cases.
@Suite struct StridedViewTests {
    @Test func gatherMatchesTheIndexFormula() throws {
        // A 2×3×2 storage of bytes 0…11 viewed with size [2, 2, 3], stride [6, 1, 2] (a permute).
        let storage: [UInt8] = Array(0..<12)
        let out = try storage.withUnsafeBytes { raw in
            try StridedView.gather(raw, width: 1, key: "s", offset: 0, size: [2, 2, 3], stride: [6, 1, 2])
        }
        var expected: [UInt8] = []
        for i in 0..<2 { for j in 0..<2 { for k in 0..<3 { expected.append(UInt8(6 * i + j + 2 * k)) } } }
        #expect(out == expected)
        // Width 8 with an offset and a stride-0 (broadcast) dimension.
        let wide: [UInt8] = (0..<5).flatMap { withUnsafeBytes(of: UInt64($0 * 1000).littleEndian, Array.init) }
        let b = try wide.withUnsafeBytes { raw in try StridedView.gather(raw, width: 8, key: "w", offset: 1, size: [2, 3], stride: [2, 0]) }
        #expect(b == [1, 1, 1, 3, 3, 3].flatMap { withUnsafeBytes(of: UInt64($0 * 1000).littleEndian, Array.init) })
    }

    @Test func swapBytesReversesEachElement() {
        var bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        StridedView.swapBytes(&bytes, width: 4)
        #expect(bytes == [4, 3, 2, 1, 8, 7, 6, 5])
        StridedView.swapBytes(&bytes, width: 2)
        #expect(bytes == [3, 4, 1, 2, 7, 8, 5, 6])
    }
}
