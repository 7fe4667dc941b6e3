import Foundation
import Testing
@testable import DMLWeights

@Suite struct SafeTensorsTests {
    static let sample: [String: StoredTensor] = {
        var t: [String: StoredTensor] = [:]
        t["b.weight"] = try! StoredTensor(shape: [2, 3], float32: [1, -2, 3.5, 0, .infinity, -0.0])
        t["a.scalar"] = try! StoredTensor(elementType: .int64, shape: [], bytes: withUnsafeBytes(of: Int64(-5).littleEndian, Array.init))
        t["c.half"] = try! StoredTensor(elementType: .float16, shape: [1, 1, 1, 2], bytes: [0x00, 0x3C, 0x00, 0xC0])
        t["d.empty"] = try! StoredTensor(elementType: .float64, shape: [0, 4], bytes: [])
        return t
    }()

    @Test func roundTripKeepsEveryTensorAndTheMetadata() throws {
        let bytes = try SafeTensors.serialize(Self.sample, metadata: ["format": "pt", "quote\"d": "line\nbreak"])
        let back = try SafeTensors.parse(bytes)
        #expect(back.tensors == Self.sample)
        #expect(back.metadata == ["format": "pt", "quote\"d": "line\nbreak"])
        #expect(back.names == ["a.scalar", "b.weight", "c.half", "d.empty"])
    }

    /// The layout, computed by hand: length, JSON without spaces, space padding to 8, data in
    /// name order.
    @Test func layoutIsTheReferenceLayout() throws {
        let t = try StoredTensor(shape: [2], float32: [1, 2])
        let bytes = try SafeTensors.serialize(["x": t])
        let json = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let padded = json + String(repeating: " ", count: (8 - json.utf8.count % 8) % 8)
        #expect(bytes == withUnsafeBytes(of: UInt64(padded.utf8.count).littleEndian, Array.init) + Array(padded.utf8) + t.bytes)
        #expect(padded.utf8.count % 8 == 0)
    }

    @Test func theFixtureRoundTripsThroughOurWriter() throws {
        let original = try SafeTensors.read(path: Fixtures.path("dtypes.safetensors"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dml-st-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/copy.safetensors"
        try SafeTensors.write(original.tensors, metadata: original.metadata, to: path)
        let copy = try SafeTensors.read(path: path)
        #expect(copy.tensors == original.tensors && copy.metadata == original.metadata)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["copy.safetensors"])  // no temporary left
    }

    @Test func aTensorNamedLikeTheMetadataCannotBeWritten() {
        let e = weightError { try SafeTensors.serialize(["__metadata__": Self.sample["b.weight"]!]) }
        #expect(e?.tensor == "__metadata__" && category(e?.kind) == "invalidHeader")
    }

    // MARK: bad input

    static let eight: [UInt8] = Array(repeating: 0, count: 8)

    @Test func headerLengthBeyondTheLimitOrTheFile() {
        var huge = withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init)
        huge += Array("{}".utf8)
        #expect(weightError { try SafeTensors.parse(huge, file: "m.safetensors") }?.kind
            == .invalidHeaderLength(length: 1 << 40, fileSize: 10, limit: SafeTensors.maxHeaderLength))
        var long = withUnsafeBytes(of: UInt64(100).littleEndian, Array.init)
        long += Array("{}".utf8)
        #expect(weightError { try SafeTensors.parse(long) }?.kind == .truncated(what: "the JSON header", offset: 8, needed: 100, available: 2))
        #expect(weightError { try SafeTensors.parse([1, 2, 3]) }?.kind == .truncated(what: "the 8-byte header length", offset: 0, needed: 8, available: 3))
    }

    @Test(arguments: [
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#, "expected ',' or '}' in an object"),
        (#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}}"#, "unexpected bytes after the top-level value"),
        (#"{"a\u12":1}"#, "invalid hex digit in a \\u escape"),
        (#"{"a":tru}"#, "expected 'true'"),
        ("[1]", "the header must start with '{'"),
        (String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 70), "nesting deeper than 64 levels"),
    ])
    func malformedJSON(header: String, reason: String) {
        let e = weightError { try SafeTensors.parse(safetensorsFile(header: header, data: [0, 0, 0, 0]), file: "bad.safetensors") }
        guard case .malformedJSON(_, let r)? = e?.kind else { Issue.record("got \(String(describing: e))"); return }
        #expect(r == reason)
        #expect(e?.description.hasPrefix("bad.safetensors: header is not valid JSON") == true)
    }

    @Test func unknownDTypeNamesTheTensor() {
        let e = weightError { try SafeTensors.parse(safetensorsFile(header: #"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), file: "x.safetensors") }
        #expect(e?.kind == .unknownElementType("F8_E4M3") && e?.tensor == "w")
        #expect(e?.description.hasPrefix("x.safetensors: tensor 'w': unknown element type F8_E4M3") == true)
    }

    @Test func overflowingShapes() {
        let big = #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#
        let e = weightError { try SafeTensors.parse(safetensorsFile(header: big, data: [0, 0, 0, 0])) }
        #expect(category(e?.kind) == "invalidShape" && e?.tensor == "w")
        let wide = #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}"#  // 2^61 · 8 overflows
        #expect(category(weightError { try SafeTensors.parse(safetensorsFile(header: wide, data: [0, 0, 0, 0])) }?.kind) == "invalidShape")
        let beyond = #"{"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,4]}}"#
        #expect(category(weightError { try SafeTensors.parse(safetensorsFile(header: beyond, data: [0, 0, 0, 0])) }?.kind) == "invalidShape")
        let negative = #"{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,4]}}"#
        #expect(category(weightError { try SafeTensors.parse(safetensorsFile(header: negative, data: [0, 0, 0, 0])) }?.kind) == "invalidHeader")
    }

    @Test func sizeMismatchOffsetsOverlapsAndDuplicates() {
        let data = [UInt8](repeating: 0, count: 16)
        func parse(_ h: String) -> WeightFileError? { weightError { try SafeTensors.parse(safetensorsFile(header: h, data: data)) } }
        let mismatch = parse(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#)
        #expect(mismatch?.kind == .byteRangeMismatch(shape: [3], elementType: .float32, expected: 12, found: 8) && mismatch?.tensor == "w")
        #expect(parse(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[4,20]}}"#)?.kind == .offsetsOutOfRange(begin: 4, end: 20, bufferSize: 16))
        #expect(parse(#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#)?.kind == .offsetsOutOfRange(begin: 8, end: 4, bufferSize: 16))
        let overlap = parse(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#)
        #expect(overlap?.kind == .overlappingTensors(other: "a") && overlap?.tensor == "b")
        let duplicate = parse(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#)
        #expect(duplicate?.kind == .duplicateName && duplicate?.tensor == "a")
        #expect(category(parse(#"{"__metadata__":{"k":1}}"#)?.kind) == "invalidHeader")
        #expect(category(parse(#"{"w":{"dtype":"F32","shape":[1]}}"#)?.kind) == "invalidHeader")
        #expect(category(parse(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#)?.kind) == "invalidHeader")
        #expect(category(parse(#"{"w":[]}"#)?.kind) == "invalidHeader")
        // Zero-length tensors never overlap, gaps are allowed.
        #expect(throws: Never.self) {
            try SafeTensors.parse(safetensorsFile(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data))
        }
    }

    /// Every truncation of the fixture is an error: inside the first 8 bytes or the header
    /// `truncated`, inside the data `offsetsOutOfRange` (the buffer is too short for a tensor).
    @Test func everyTruncationIsAClearError() throws {
        let bytes = try Fixtures.bytes("dtypes.safetensors")
        let headerEnd = 8 + Int(bytes[0]) + Int(bytes[1]) << 8
        for cut in 0..<bytes.count {
            let e = weightError { try SafeTensors.parse(Array(bytes[..<cut]), file: "t.safetensors") }
            #expect(category(e?.kind) == (cut < headerEnd ? "truncated" : "offsetsOutOfRange"), "cut at \(cut)")
        }
    }

    /// Flipping any header byte either still parses or gives a `WeightFileError`; never a trap.
    @Test func flippedHeaderBytesNeverCrash() throws {
        let bytes = try Fixtures.bytes("dtypes.safetensors")
        var failures = 0
        for k in 0..<(8 + Int(bytes[0]) + Int(bytes[1]) << 8) {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var b = bytes
                b[k] ^= mask
                do { _ = try SafeTensors.parse(b) } catch { failures += 1 }
            }
        }
        #expect(failures > 0)
    }
}
