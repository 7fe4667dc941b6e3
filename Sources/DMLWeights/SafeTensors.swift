/// The safetensors format: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON
/// `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
/// then the data buffer; tensor `name` occupies bytes `begin..<end` of the buffer, little-endian,
/// C order, with `end − begin = Π shape · width(dtype)`.
public enum SafeTensors {
    /// The largest header accepted, in bytes (the reference implementation's limit, 100 MB).
    public static let maxHeaderLength = 100_000_000

    /// The name of the header entry holding the free-form string metadata.
    public static let metadataKey = "__metadata__"

    /// Parses a safetensors file held in memory. `file` names it in errors.
    ///
    /// Checks, each failing with a `WeightFileError` naming the file and, where one is at
    /// fault, the tensor: at least 8 bytes; `N ≤ maxHeaderLength` and `8 + N ≤ bytes.count`;
    /// the header is well-formed JSON (UTF-8, nesting ≤ 64) and an object; every entry has a
    /// known `dtype`, a `shape` of non-negative integers and two `data_offsets`
    /// `begin ≤ end ≤ buffer size`; `Π shape · width` (overflow-checked) equals `end − begin`;
    /// no two tensors' byte ranges overlap; no name occurs twice; `__metadata__`, when present,
    /// maps strings to strings. Gaps between tensors are allowed and ignored.
    public static func parse(_ bytes: [UInt8], file: String = "<memory>") throws(WeightFileError) -> WeightFileContents {
        func fail(_ kind: WeightFileError.Kind, tensor: String? = nil) -> WeightFileError {
            WeightFileError(file: file, tensor: tensor, kind: kind)
        }
        guard bytes.count >= 8 else {
            throw fail(.truncated(what: "the 8-byte header length", offset: 0, needed: 8, available: bytes.count))
        }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard length <= UInt64(maxHeaderLength) else {
            throw fail(.invalidHeaderLength(length: length, fileSize: bytes.count, limit: maxHeaderLength))
        }
        let headerLength = Int(length)
        guard headerLength <= bytes.count - 8 else {
            throw fail(.truncated(what: "the JSON header", offset: 8, needed: headerLength, available: bytes.count - 8))
        }
        let dataStart = 8 + headerLength
        let bufferSize = bytes.count - dataStart

        let parsed = bytes.withUnsafeBytes { raw -> Result<HeaderJSON, JSONSyntaxError> in
            let region = UnsafeRawBufferPointer(rebasing: raw[8..<dataStart])
            guard region.first == UInt8(ascii: "{") else { return .failure(JSONSyntaxError(offset: 0, reason: "the header must start with '{'")) }
            return Result { () throws(JSONSyntaxError) in try HeaderJSON.parse(region) }
        }
        let header: HeaderJSON
        switch parsed {
        case .success(let value): header = value
        case .failure(let error): throw fail(.malformedJSON(offset: error.offset, reason: error.reason))
        }
        guard case .object(let members) = header else { throw fail(.invalidHeader("the header is not a JSON object")) }

        struct Entry { let name: String; let type: TensorElementType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        var seen = Set<String>()
        var metadata: [String: String] = [:]
        for member in members {
            let name = member.key, value = member.value
            guard seen.insert(name).inserted else { throw fail(.duplicateName, tensor: name) }
            if name == metadataKey {
                guard case .object(let pairs) = value else {
                    throw fail(.invalidHeader("\(metadataKey) must be an object of strings, found \(value.kindName)"))
                }
                for pair in pairs {
                    let key = pair.key, v = pair.value
                    guard case .string(let s) = v else {
                        throw fail(.invalidHeader("\(metadataKey) entry \"\(key)\" must be a string, found \(v.kindName)"))
                    }
                    guard metadata.updateValue(s, forKey: key) == nil else {
                        throw fail(.invalidHeader("\(metadataKey) entry \"\(key)\" occurs more than once"))
                    }
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw fail(.invalidHeader("the entry must be an object, found \(value.kindName)"), tensor: name)
            }
            func field(_ key: String) throws(WeightFileError) -> HeaderJSON {
                let matches = fields.filter { $0.key == key }
                guard matches.count == 1 else {
                    throw fail(.invalidHeader(matches.isEmpty ? "missing \"\(key)\"" : "\"\(key)\" occurs more than once"), tensor: name)
                }
                return matches[0].value
            }
            guard case .string(let dtype) = try field("dtype") else {
                throw fail(.invalidHeader("\"dtype\" must be a string"), tensor: name)
            }
            guard let type = TensorElementType(rawValue: dtype) else { throw fail(.unknownElementType(dtype), tensor: name) }
            guard case .array(let dims) = try field("shape") else {
                throw fail(.invalidHeader("\"shape\" must be an array of non-negative integers"), tensor: name)
            }
            var shape: [Int] = []
            for d in dims {
                guard case .unsigned(let u) = d else {
                    throw fail(.invalidHeader("\"shape\" must be an array of non-negative integers, found \(d.kindName) \(d)"), tensor: name)
                }
                guard u <= UInt64(Int.max) else {
                    throw fail(.invalidShape(shape: shape, reason: "dimension \(u) does not fit in a 64-bit signed integer"), tensor: name)
                }
                shape.append(Int(u))
            }
            guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
                  case .unsigned(let begin) = offsets[0], case .unsigned(let end) = offsets[1]
            else {
                throw fail(.invalidHeader("\"data_offsets\" must be two non-negative integers [begin, end]"), tensor: name)
            }
            guard begin <= end, end <= UInt64(bufferSize) else {
                throw fail(.offsetsOutOfRange(begin: begin, end: end, bufferSize: bufferSize), tensor: name)
            }
            let byteCount: Int
            do {
                byteCount = try StoredTensor.checkedByteCount(elementType: type, shape: shape)
            } catch {
                throw fail(.invalidShape(shape: shape, reason: error.description), tensor: name)
            }
            let span = Int(end - begin)
            guard byteCount == span else {
                throw fail(.byteRangeMismatch(shape: shape, elementType: type, expected: byteCount, found: span), tensor: name)
            }
            entries.append(Entry(name: name, type: type, shape: shape, begin: Int(begin), end: Int(end)))
        }

        let byStart = entries.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (previous, next) in zip(byStart, byStart.dropFirst()) where next.begin < previous.end {
            throw fail(.overlappingTensors(other: previous.name), tensor: next.name)
        }

        var tensors: [String: StoredTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let slice = Array(bytes[(dataStart + entry.begin)..<(dataStart + entry.end)])
            do {
                tensors[entry.name] = try StoredTensor(elementType: entry.type, shape: entry.shape, bytes: slice)
            } catch {
                throw fail(.invalidShape(shape: entry.shape, reason: error.description), tensor: entry.name)
            }
        }
        return WeightFileContents(format: .safetensors, tensors: tensors, names: entries.map(\.name), metadata: metadata)
    }

    /// Reads and parses the safetensors file at `path` (see `parse(_:file:)`).
    public static func read(path: String) throws(WeightFileError) -> WeightFileContents {
        try parse(try readFileBytes(path: path), file: path)
    }

    /// The bytes of a safetensors file holding `tensors` and `metadata`, as the reference
    /// implementation lays them out: the header JSON without whitespace, padded with spaces to a
    /// multiple of 8 bytes, `__metadata__` first (omitted when empty), tensors sorted by name
    /// and stored back to back in that order.
    public static func serialize(_ tensors: [String: StoredTensor], metadata: [String: String] = [:]) throws(WeightFileError) -> [UInt8] {
        if tensors[metadataKey] != nil {
            throw WeightFileError(file: "<memory>", tensor: metadataKey, kind: .invalidHeader("a tensor cannot be named \(metadataKey)"))
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(HeaderJSON.quoted($0)):\(HeaderJSON.quoted(metadata[$0]!))" }
            parts.append("\(HeaderJSON.quoted(metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        let names = tensors.keys.sorted()
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let end = offset + t.bytes.count
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(HeaderJSON.quoted(name)):{\"dtype\":\"\(t.elementType.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(parts.joined(separator: ","))}".utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// Writes `tensors` (and `metadata`) to `path` as safetensors, atomically: a temporary file
    /// in the same directory, flushed, then renamed over `path`.
    public static func write(_ tensors: [String: StoredTensor], metadata: [String: String] = [:], to path: String) throws(WeightFileError) {
        let bytes: [UInt8]
        do {
            bytes = try serialize(tensors, metadata: metadata)
        } catch {
            throw WeightFileError(file: path, tensor: error.tensor, kind: error.kind)
        }
        try writeFileAtomically(bytes, path: path)
    }
}
