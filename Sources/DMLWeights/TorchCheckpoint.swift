/// PyTorch checkpoints read in Swift, without Python: the zip format of `torch.save` (PyTorch
/// ≥ 1.6) and the legacy stream format. The pickle is evaluated by `Unpickler`, which allows only
/// the globals of a tensor state dict; every tensor view is checked against its storage and
/// copied out contiguous, in C order.
public enum TorchCheckpoint {
    /// The keys under which a training checkpoint's top-level dict may hold the state dict,
    /// tried in this order when the top-level dict is not itself a state dict.
    public static let stateDictKeys = ["state_dict", "model"]

    /// The magic number that opens a legacy checkpoint, `0x1950a86a20f9469cfc6c`, as the
    /// little-endian two's-complement bytes of its pickled LONG1.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// The protocol version of the legacy format.
    static let legacyProtocolVersion = 1001

    /// The globals a checkpoint pickle may name, as `module.name`; any other global is refused.
    public static var allowedGlobals: [String] { PickleGlobal.allowlist }

    // MARK: zip

    /// Parses a zip-format checkpoint held in memory. The archive's records share one top-level
    /// folder (any name; `archive` in recent PyTorch): `F/data.pkl` is the object pickle,
    /// `F/data/KEY` holds storage `KEY`'s bytes, `F/byteorder` (when present) says `little` or
    /// `big`.
    public static func parseZip(_ bytes: [UInt8], file: String = "<memory>") throws(WeightFileError) -> WeightFileContents {
        try withRawBytes(bytes) { (raw) throws(WeightFileError) -> WeightFileContents in
            func fail(_ kind: WeightFileError.Kind, tensor: String? = nil) -> WeightFileError {
                WeightFileError(file: file, tensor: tensor, kind: kind)
            }
            let zip: ZipContainer
            do throws(WeightFileError.Kind) { zip = try ZipContainer(raw) } catch { throw fail(error) }
            guard let first = zip.entries.first, let slash = first.name.firstIndex(of: "/") else {
                throw fail(.invalidZip("no records in a top-level folder (a PyTorch archive holds FOLDER/data.pkl)"))
            }
            let folder = String(first.name[..<slash])
            guard let pickleEntry = zip.entry(named: "\(folder)/data.pkl") else {
                throw fail(.invalidZip("no \(folder)/data.pkl record: a zip file, but not a PyTorch checkpoint"))
            }
            var bigEndian = false
            if let order = zip.entry(named: "\(folder)/byteorder") {
                let range: Range<Int>
                do throws(WeightFileError.Kind) { range = try zip.dataRange(of: order, in: raw) } catch { throw fail(error) }
                switch String(decoding: UnsafeRawBufferPointer(rebasing: raw[range]), as: UTF8.self) {
                case "little": bigEndian = false
                case "big": bigEndian = true
                case let other: throw fail(.invalidZip("\(folder)/byteorder says '\(other.prefix(20))', expected 'little' or 'big'"))
                }
            }
            let pickleRange: Range<Int>
            do throws(WeightFileError.Kind) { pickleRange = try zip.dataRange(of: pickleEntry, in: raw) } catch { throw fail(error) }
            let arena = PickleArena()
            defer { arena.drain() }
            var storages = StorageTable()
            var unpickler = Unpickler(bytes: UnsafeRawBufferPointer(rebasing: raw[pickleRange]), arena: arena) { (pid, offset) throws(WeightFileError.Kind) in
                try storages.resolve(pid, at: offset)
            }
            let top: PickleValue
            do throws(WeightFileError.Kind) { top = try unpickler.load() } catch { throw fail(error) }
            let (dict, key) = try findStateDict(top, file: file)

            return try materialize(dict, key: key, format: .pytorchZip, file: file, bigEndian: bigEndian, table: storages) { (storageKey) throws(WeightFileError) -> UnsafeRawBufferPointer in
                guard let entry = zip.entry(named: "\(folder)/data/\(storageKey)") else {
                    throw fail(.missingStorage(key: storageKey))
                }
                do throws(WeightFileError.Kind) { return UnsafeRawBufferPointer(rebasing: raw[try zip.dataRange(of: entry, in: raw)]) } catch { throw fail(error) }
            }
        }
    }

    // MARK: legacy

    /// Parses a legacy-format checkpoint held in memory: the pickles of the magic number,
    /// protocol version 1001 and a system-info dict; the object pickle; the pickled list of
    /// storage keys; then for each key in that order an 8-byte little-endian element count and
    /// `count · width` bytes.
    public static func parseLegacy(_ bytes: [UInt8], file: String = "<memory>") throws(WeightFileError) -> WeightFileContents {
        try withRawBytes(bytes) { (raw) throws(WeightFileError) -> WeightFileContents in
            func fail(_ kind: WeightFileError.Kind, tensor: String? = nil) -> WeightFileError {
                WeightFileError(file: file, tensor: tensor, kind: kind)
            }
            let arena = PickleArena()
            defer { arena.drain() }
            var position = 0
            func plain() throws(WeightFileError) -> PickleValue {
                var u = Unpickler(bytes: raw, position: position, arena: arena) { (_, offset) throws(WeightFileError.Kind) in
                    throw .malformedPickle(offset: offset, reason: "a persistent id outside the object pickle")
                }
                do throws(WeightFileError.Kind) {
                    let v = try u.load()
                    position = u.position
                    return v
                } catch { throw fail(error) }
            }
            let magic = try plain()
            guard case .bigInt(let m) = magic, m == legacyMagic else {
                throw fail(.wrongMagic("the first pickle is \(magic.kindName), not the magic number 0x1950a86a20f9469cfc6c"))
            }
            let version = try plain()
            guard case .int(let v) = version, v == legacyProtocolVersion else {
                throw fail(.wrongMagic("protocol version is \(version.kindName), expected \(legacyProtocolVersion)"))
            }
            guard case .dict = try plain() else { throw fail(.wrongMagic("the third pickle is not the system-info dict")) }

            var storages = StorageTable()
            var objects = Unpickler(bytes: raw, position: position, arena: arena) { (pid, offset) throws(WeightFileError.Kind) in
                try storages.resolve(pid, at: offset)
            }
            let top: PickleValue
            do throws(WeightFileError.Kind) { top = try objects.load() } catch { throw fail(error) }
            position = objects.position
            let keyList = try plain()
            guard case .list(let keys) = keyList else { throw fail(.unexpectedObject("the storage-key pickle is \(keyList.kindName), not a list")) }

            // The raw storages, in key-list order.
            var ranges: [String: Range<Int>] = [:]
            for item in keys.items {
                guard case .string(let key) = item else { throw fail(.unexpectedObject("the storage-key list holds \(item.kindName)")) }
                guard let storage = storages.roots[key] else {
                    throw fail(.unexpectedObject("storage '\(key)' is listed but no tensor refers to it (its element type is unknown)"))
                }
                guard raw.count - position >= 8 else {
                    throw fail(.truncated(what: "the element count of storage '\(key)'", offset: position, needed: 8, available: raw.count - position))
                }
                var count: UInt64 = 0
                for k in 0..<8 { count |= UInt64(raw[position + k]) << (8 * UInt64(k)) }
                position += 8
                let width = UInt64(storage.elementType.byteWidth)
                let available = raw.count - position
                guard count <= UInt64(available) / width else {
                    throw fail(.truncated(what: "storage '\(key)' (\(count) elements of \(width) bytes)", offset: position,
                                          needed: count > UInt64(Int.max) / width ? Int.max : Int(count * width), available: available))
                }
                guard Int(count) == storage.elementCount else {
                    throw fail(.storageSizeMismatch(key: key, declaredBytes: storage.elementCount * Int(width), foundBytes: Int(count * width)))
                }
                guard ranges[key] == nil else { throw fail(.unexpectedObject("storage '\(key)' is listed twice")) }
                ranges[key] = position..<(position + Int(count * width))
                position += Int(count * width)
            }
            let (dict, stateKey) = try findStateDict(top, file: file)
            return try materialize(dict, key: stateKey, format: .pytorchLegacy, file: file, bigEndian: false, table: storages) { (storageKey) throws(WeightFileError) -> UnsafeRawBufferPointer in
                guard let range = ranges[storageKey] else { throw fail(.missingStorage(key: storageKey)) }
                return UnsafeRawBufferPointer(rebasing: raw[range])
            }
        }
    }

    // MARK: shared

    /// The storages declared by persistent ids, keyed by their root key.
    struct StorageTable {
        struct Root { let elementType: TensorElementType; let elementCount: Int }
        var roots: [String: Root] = [:]

        /// Resolves `('storage', StorageType, key, location, numel[, view_metadata])`.
        mutating func resolve(_ pid: PickleValue, at offset: Int) throws(WeightFileError.Kind) -> PickleValue {
            func fail(_ reason: String) -> WeightFileError.Kind { .malformedPickle(offset: offset, reason: "persistent id: " + reason) }
            guard case .tuple(let t, _) = pid, t.count >= 5, case .string("storage") = t[0] else {
                throw fail("expected ('storage', type, key, location, size), found \(pid.kindName)")
            }
            guard case .global(.storageType(let type)) = t[1] else { throw fail("the storage type is \(t[1].kindName)") }
            let key: String
            switch t[2] {
            case .string(let s): key = s
            case .int(let i): key = String(i)
            default: throw fail("the storage key is \(t[2].kindName)")
            }
            guard case .int(let count) = t[4], count >= 0 else { throw fail("the storage size is \(t[4].kindName)") }
            guard count <= Int.max / type.byteWidth else { throw fail("storage '\(key)' of \(count) elements overflows") }
            if let known = roots[key] {
                guard known.elementType == type, known.elementCount == count else {
                    throw fail("storage '\(key)' is declared twice with different types or sizes")
                }
            }
            roots[key] = Root(elementType: type, elementCount: count)
            var viewOffset = 0
            var viewCount: Int?
            if t.count >= 6, case .tuple(let view, _) = t[5] {
                guard view.count == 3, case .int(let o) = view[1], case .int(let n) = view[2], o >= 0, n >= 0, o <= count, n <= count - o else {
                    throw fail("storage '\(key)' has a malformed view (key, offset, size)")
                }
                viewOffset = o
                viewCount = n
            }
            return .storage(StorageReference(key: key, elementType: type, elementCount: count, viewOffset: viewOffset, viewCount: viewCount))
        }
    }

    /// The state dict: the top-level dict when its values are all tensors, else the dict under
    /// the first of `stateDictKeys` present.
    static func findStateDict(_ top: PickleValue, file: String) throws(WeightFileError) -> (PickleDict, String?) {
        func isStateDict(_ d: PickleDict) -> Bool {
            d.entries.allSatisfy { if case .string = $0.key, case .tensor = $0.value { true } else { false } }
        }
        guard case .dict(let dict) = top else {
            throw WeightFileError(file: file, kind: .unexpectedObject("the checkpoint holds \(top.kindName), not a dict of tensors"))
        }
        if isStateDict(dict) { return (dict, nil) }
        for key in stateDictKeys {
            if case .dict(let inner)? = dict[key] {
                guard isStateDict(inner) else {
                    let bad = inner.entries.first { if case .string = $0.key, case .tensor = $0.value { false } else { true } }!
                    let name = if case .string(let s) = bad.key { "'\(s)'" } else { bad.key.kindName }
                    throw WeightFileError(file: file, kind: .unexpectedObject("the dict under '\(key)' is not a state dict: entry \(name) is \(bad.value.kindName), not a tensor"))
                }
                return (inner, key)
            }
        }
        let keys = dict.entries.prefix(12).map { if case .string(let s) = $0.key { "'\(s)'" } else { $0.key.kindName } }
        throw WeightFileError(file: file, kind: .unexpectedObject(
            "the top-level dict (keys \(keys.joined(separator: ", "))\(dict.entries.count > 12 ? ", …" : "")) is not a state dict and holds none under \(stateDictKeys.map { "'\($0)'" }.joined(separator: " or "))"))
    }

    /// Copies every tensor of `dict` out of its storage, contiguous in C order.
    static func materialize(
        _ dict: PickleDict, key: String?, format: WeightFileFormat, file: String, bigEndian: Bool, table: StorageTable,
        storageBytes: (String) throws(WeightFileError) -> UnsafeRawBufferPointer
    ) throws(WeightFileError) -> WeightFileContents {
        var tensors: [String: StoredTensor] = [:]
        var names: [String] = []
        var cache: [String: UnsafeRawBufferPointer] = [:]
        for (k, v) in dict.entries {
            guard case .string(let name) = k, case .tensor(let view) = v else { continue }
            let storage = view.storage
            let raw: UnsafeRawBufferPointer
            if let cached = cache[storage.key] {
                raw = cached
            } else {
                raw = try storageBytes(storage.key)
                cache[storage.key] = raw
            }
            let width = storage.elementType.byteWidth
            let rootCount = table.roots[storage.key]?.elementCount ?? storage.elementCount
            guard raw.count == rootCount * width else {
                throw WeightFileError(file: file, tensor: name, kind: .storageSizeMismatch(key: storage.key, declaredBytes: rootCount * width, foundBytes: raw.count))
            }
            let window = UnsafeRawBufferPointer(rebasing: raw[(storage.viewOffset * width)..<((storage.viewOffset + (storage.viewCount ?? (rootCount - storage.viewOffset))) * width)])
            do {
                var bytes = try StridedView.gather(window, width: width, key: storage.key, offset: view.offset, size: view.size, stride: view.stride)
                if bigEndian && width > 1 { StridedView.swapBytes(&bytes, width: width) }
                tensors[name] = try StoredTensor(elementType: storage.elementType, shape: view.size, bytes: bytes)
            } catch let error as WeightFileError.Kind {
                throw WeightFileError(file: file, tensor: name, kind: error)
            } catch {
                throw WeightFileError(file: file, tensor: name, kind: .invalidShape(shape: view.size, reason: "\(error)"))
            }
            names.append(name)
        }
        return WeightFileContents(format: format, tensors: tensors, names: names, stateDictKey: key)
    }
}

/// Copying a strided view of a storage into contiguous C-order bytes.
enum StridedView {
    /// The elements `storage[offset + Σ iₖ·strideₖ]` for every index `i < size` in C order, as
    /// bytes. Checks (overflow-checked) that sizes and strides are non-negative, `size` and
    /// `stride` have the same rank, and the largest index `offset + Σ (sizeₖ − 1)·strideₖ` is
    /// inside the storage; an empty view touches nothing.
    static func gather(_ storage: UnsafeRawBufferPointer, width: Int, key: String, offset: Int, size: [Int], stride: [Int]) throws(WeightFileError.Kind) -> [UInt8] {
        guard size.count == stride.count else {
            throw .invalidShape(shape: size, reason: "stride \(stride) has a different rank")
        }
        guard size.allSatisfy({ $0 >= 0 }) else { throw .invalidShape(shape: size, reason: "a negative dimension") }
        guard stride.allSatisfy({ $0 >= 0 }), offset >= 0 else {
            throw .invalidShape(shape: size, reason: "negative stride \(stride) or storage offset \(offset)")
        }
        var count = 1
        for d in size {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw .invalidShape(shape: size, reason: "the element count overflows") }
            count = p
        }
        guard count.multipliedReportingOverflow(by: width).overflow == false else {
            throw .invalidShape(shape: size, reason: "the byte count overflows")
        }
        if count == 0 { return [] }
        let storageCount = storage.count / width
        var last = offset
        for (d, s) in zip(size, stride) {
            let (step, o1) = (d - 1).multipliedReportingOverflow(by: s)
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { throw .invalidShape(shape: size, reason: "offset \(offset) + (size − 1)·stride \(stride) overflows") }
            last = sum
        }
        guard last < storageCount else {
            throw .storageTooShort(key: key, storageElements: storageCount, neededElements: last == Int.max ? last : last + 1)
        }
        var out = [UInt8](repeating: 0, count: count * width)
        out.withUnsafeMutableBytes { dst in
            let base = storage.baseAddress!
            let target = dst.baseAddress!
            // Drop size-1 dimensions; a C-contiguous view is one copy.
            let dims = zip(size, stride).filter { $0.0 != 1 }
            var expected = 1
            var contiguous = true
            for (d, s) in dims.reversed() {
                if s != expected { contiguous = false; break }
                expected *= d
            }
            if contiguous {
                target.copyMemory(from: base + offset * width, byteCount: count * width)
                return
            }
            switch width {
            case 1: stridedCopy(UInt8.self, from: base, to: target, offset: offset, dims: dims, count: count)
            case 2: stridedCopy(UInt16.self, from: base, to: target, offset: offset, dims: dims, count: count)
            case 4: stridedCopy(UInt32.self, from: base, to: target, offset: offset, dims: dims, count: count)
            default: stridedCopy(UInt64.self, from: base, to: target, offset: offset, dims: dims, count: count)
            }
        }
        return out
    }

    /// Copies `count` elements of type `T` from the strided view `(offset, dims)` of `base`
    /// (unaligned) to the contiguous, aligned `target`, in C order.
    private static func stridedCopy<T: FixedWidthInteger>(_: T.Type, from base: UnsafeRawPointer, to target: UnsafeMutableRawPointer, offset: Int, dims: [(Int, Int)], count: Int) {
        let width = MemoryLayout<T>.size
        let rank = dims.count
        let inner = dims[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var source = offset
        var written = 0
        while written < count {
            var p = source
            for _ in 0..<inner.0 {
                target.storeBytes(of: base.loadUnaligned(fromByteOffset: p * width, as: T.self), toByteOffset: written * width, as: T.self)
                written += 1
                p += inner.1
            }
            // Advance the outer index (odometer), keeping `source` = offset + Σ iₖ·strideₖ.
            var k = rank - 2
            while k >= 0 {
                index[k] += 1
                source += dims[k].1
                if index[k] < dims[k].0 { break }
                source -= dims[k].1 * dims[k].0
                index[k] = 0
                k -= 1
            }
        }
    }

    /// Reverses the bytes of every `width`-byte element (big-endian → little-endian).
    static func swapBytes(_ bytes: inout [UInt8], width: Int) {
        for start in stride(from: 0, to: bytes.count, by: width) {
            bytes[start..<(start + width)].reverse()
        }
    }
}
