/// A value of the pickle virtual machine, restricted to what PyTorch checkpoints hold.
/// Lists and dicts are reference boxes because the pickle mutates them after they were memoized.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in `Int`: little-endian two's complement bytes, as LONG1 holds them.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// A tuple and its nesting depth in tuples (1 + the deepest tuple inside it).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// A global from the allowlist (a class or function the unpickler knows how to apply).
    case global(PickleGlobal)
    /// A storage, resolved from a persistent id.
    case storage(StorageReference)
    /// A tensor: a strided view of a storage.
    case tensor(TensorView)

    /// A short name of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInt: "an int"
        case .float: "a float"
        case .string(let s): "the string '\(s.prefix(40))'"
        case .bytes: "bytes"
        case .tuple(let t, _): "a tuple of \(t.count)"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let g): "the global \(g.qualifiedName)"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// Owns every list and dict an unpickler creates, so that freeing them never recurses: while
/// the arena holds each box, releasing one only decrements its children, and `drain()` (call it,
/// e.g. in a `defer`, after the last use of the values) empties them in turn. Tuples, the only
/// other nesting, are limited to `Unpickler.maxTupleDepth`. Without the arena a hostile pickle
/// nesting 300,000 lists crashed with a stack overflow when they were freed (tested).
final class PickleArena {
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []

    func list() -> PickleList { let l = PickleList(); lists.append(l); return l }
    func dict() -> PickleDict { let d = PickleDict(); dicts.append(d); return d }
    func adopt(_ d: PickleDict) { dicts.append(d) }

    /// Empties every list and dict; the values they held are no longer usable afterwards.
    func drain() {
        for l in lists { l.items.removeAll() }
        for d in dicts { d.removeAll() }
    }
}

/// A mutable pickled list.
final class PickleList {
    var items: [PickleValue] = []
}

/// A mutable pickled dict, in insertion order (state dicts are `OrderedDict`s). String keys are
/// indexed so that assigning an existing key replaces its value, as in Python.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key {
            if let k = stringIndex[s] { entries[k].value = value; return }
            stringIndex[s] = entries.count
        }
        entries.append((key, value))
    }

    func removeAll() {
        entries.removeAll()
        stringIndex.removeAll()
    }

    subscript(key: String) -> PickleValue? { stringIndex[key].map { entries[$0].value } }
}

/// The globals a weight-file pickle may name. Anything else is refused when the pickle names
/// it (`GLOBAL` / `STACK_GLOBAL`), before any object is built, so nothing is ever executed.
enum PickleGlobal: Equatable {
    /// `collections.OrderedDict`: called with no arguments, makes an empty dict.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensorV2
    /// `torch._utils._rebuild_tensor(storage, offset, size, stride)` (older files).
    case rebuildTensor
    /// `torch._utils._rebuild_parameter(data, requires_grad, hooks)`: the data tensor.
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, hooks, state)`.
    case rebuildParameterWithState
    /// `torch._tensor._rebuild_from_type_v2(func, type, args, state)`: `func(*args)`.
    case rebuildFromTypeV2
    /// `torch.Tensor` or `torch.nn.parameter.Parameter`, only as the `type` argument above.
    case tensorType(String)
    /// `torch.FloatStorage` etc.: a storage's element type, in persistent ids.
    case storageType(TensorElementType)

    /// The storage classes by name, `torch.<Name>Storage`.
    static let storageTypes: [String: TensorElementType] = [
        "FloatStorage": .float32, "DoubleStorage": .float64, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// The allowlist: `module.name` → global, or `nil` when the global is not allowed.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromTypeV2
        case ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"): return .tensorType("\(module).\(name)")
        case ("torch", _): return storageTypes[name].map { .storageType($0) }
        default: return nil
        }
    }

    /// Every allowed global, as `module.name` (for documentation and tests).
    static var allowlist: [String] {
        ["collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
         "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
         "torch._tensor._rebuild_from_type_v2", "torch.Tensor", "torch.nn.parameter.Parameter"]
            + storageTypes.keys.sorted().map { "torch.\($0)" }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: "torch._utils._rebuild_tensor"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: "torch._tensor._rebuild_from_type_v2"
        case .tensorType(let name): name
        case .storageType(let type): "torch." + (PickleGlobal.storageTypes.first { $0.value == type }?.key ?? "?")
        }
    }
}

/// A storage named by a persistent id: its key in the file, element type and element count.
/// `viewOffset`/`viewCount` describe a legacy storage *view* (a window of the root storage).
struct StorageReference {
    let key: String
    let elementType: TensorElementType
    let elementCount: Int
    let viewOffset: Int
    let viewCount: Int?
}

/// A tensor as pickled: a strided view `(offset, size, stride)` of a storage, in elements.
struct TensorView {
    let storage: StorageReference
    let offset: Int
    let size: [Int]
    let stride: [Int]
}

/// A safe unpickler for PyTorch checkpoints: protocols 2–5, the opcodes `torch.save` writes,
/// and only the globals of `PickleGlobal`'s allowlist. It builds values; it never calls
/// anything outside the allowlist's fixed meanings, and it checks every length against the
/// bytes that remain before reading or allocating.
struct Unpickler {
    /// Resolves a persistent id (the `BINPERSID` operand) to a value, typically a storage.
    typealias PersistentLoad = (PickleValue, _ offset: Int) throws(WeightFileError.Kind) -> PickleValue

    private let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    private let persistentLoad: PersistentLoad
    private let arena: PickleArena
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// An unpickler over `bytes` starting at `position`.
    /// `arena` keeps every list and dict it creates; drain it when done with the values.
    init(bytes: UnsafeRawBufferPointer, position: Int = 0, arena: PickleArena, persistentLoad: @escaping PersistentLoad) {
        self.arena = arena
        self.bytes = bytes
        self.position = position
        self.persistentLoad = persistentLoad
    }

    private func malformed(_ reason: String, at offset: Int? = nil) -> WeightFileError.Kind {
        .malformedPickle(offset: offset ?? position, reason: reason)
    }

    private mutating func take(_ n: Int, _ what: String) throws(WeightFileError.Kind) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else {
            throw .truncated(what: what, offset: position, needed: n, available: bytes.count - position)
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    private mutating func uint(_ width: Int, _ what: String) throws(WeightFileError.Kind) -> UInt64 {
        let raw = try take(width, what)
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(raw[k]) << (8 * UInt64(k)) }
        return v
    }

    /// A length operand, checked against the bytes that remain.
    private mutating func length(_ width: Int, _ what: String) throws(WeightFileError.Kind) -> Int {
        let start = position
        let n = try uint(width, what)
        guard n <= UInt64(bytes.count - position) else {
            throw .truncated(what: what, offset: start, needed: n > UInt64(Int.max) ? Int.max : Int(n), available: bytes.count - position)
        }
        return Int(n)
    }

    private mutating func pop() throws(WeightFileError.Kind) -> PickleValue {
        guard let v = stack.popLast() else { throw malformed("the stack is empty") }
        if let m = marks.last, stack.count < m { throw malformed("an item was taken from below the mark") }
        return v
    }

    private mutating func popToMark() throws(WeightFileError.Kind) -> [PickleValue] {
        guard let m = marks.popLast() else { throw malformed("no mark on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func line(_ what: String) throws(WeightFileError.Kind) -> String {
        let start = position
        guard let end = bytes[start...].firstIndex(of: 0x0A) else {
            throw .truncated(what: what, offset: start, needed: bytes.count - start + 1, available: bytes.count - start)
        }
        position = end + 1
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) else {
            throw malformed("\(what) is not UTF-8", at: start)
        }
        return s
    }

    private func text(_ raw: UnsafeRawBufferPointer, at offset: Int) throws(WeightFileError.Kind) -> String {
        guard let s = String(validating: raw, as: UTF8.self) else { throw malformed("a string is not valid UTF-8", at: offset) }
        return s
    }

    private func global(module: String, name: String) throws(WeightFileError.Kind) -> PickleValue {
        guard let g = PickleGlobal.resolve(module: module, name: name) else { throw .forbiddenGlobal(module: module, name: name) }
        return .global(g)
    }

    /// The deepest nesting of tuples accepted (torch writes 3 or 4).
    static let maxTupleDepth = 100

    private func tuple(_ items: [PickleValue], at offset: Int) throws(WeightFileError.Kind) -> PickleValue {
        var depth = 1
        for item in items { if case .tuple(_, let d) = item { depth = max(depth, d + 1) } }
        guard depth <= Unpickler.maxTupleDepth else { throw malformed("tuples nested deeper than \(Unpickler.maxTupleDepth)", at: offset) }
        return .tuple(items, depth: depth)
    }

    /// Runs the pickle machine up to `STOP` and returns the value left on the stack.
    mutating func load() throws(WeightFileError.Kind) -> PickleValue {
        while true {
            let opcodeOffset = position
            let op = try take(1, "a pickle opcode")[0]
            switch op {
            case 0x80:  // PROTO
                let version = try take(1, "the PROTO version")[0]
                guard (2...5).contains(version) else { throw malformed("pickle protocol \(version) (2 to 5 are supported)", at: opcodeOffset) }
            case 0x95:  // FRAME: a length hint only
                _ = try uint(8, "the FRAME length")
            case UInt8(ascii: "."):  // STOP
                guard marks.isEmpty, stack.count == 1 else { throw malformed("STOP with \(stack.count) values on the stack", at: opcodeOffset) }
                return stack[0]
            case UInt8(ascii: "("): marks.append(stack.count)  // MARK
            case UInt8(ascii: "}"): stack.append(.dict(arena.dict()))  // EMPTY_DICT
            case UInt8(ascii: "]"): stack.append(.list(arena.list()))  // EMPTY_LIST
            case UInt8(ascii: ")"): stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case UInt8(ascii: "J"):  // BININT
                stack.append(.int(Int(Int32(bitPattern: UInt32(try uint(4, "a BININT"))))))
            case UInt8(ascii: "K"): stack.append(.int(Int(try uint(1, "a BININT1"))))
            case UInt8(ascii: "M"): stack.append(.int(Int(try uint(2, "a BININT2"))))
            case 0x8A, 0x8B:  // LONG1, LONG4
                let n = try length(op == 0x8A ? 1 : 4, "a LONG length")
                guard n <= 4096 else { throw malformed("an integer of \(n) bytes", at: opcodeOffset) }
                let raw = Array(try take(n, "a LONG"))
                if raw.isEmpty {
                    stack.append(.int(0))
                } else if n <= 8 {
                    var v: UInt64 = 0
                    for (k, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
                    if n < 8, raw[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }  // sign-extend
                    stack.append(.int(Int(Int64(bitPattern: v))))
                } else {
                    stack.append(.bigInt(raw))
                }
            case UInt8(ascii: "G"):  // BINFLOAT, big-endian
                let raw = try take(8, "a BINFLOAT")
                var bits: UInt64 = 0
                for k in 0..<8 { bits = bits << 8 | UInt64(raw[k]) }
                stack.append(.float(Double(bitPattern: bits)))
            case UInt8(ascii: "X"), 0x8C, 0x8D:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try length(op == 0x8C ? 1 : op == 0x8D ? 8 : 4, "a string length")
                let start = position
                stack.append(.string(try text(try take(n, "a string"), at: start)))
            case UInt8(ascii: "T"), UInt8(ascii: "U"):  // BINSTRING, SHORT_BINSTRING (Python 2 str), read as UTF-8
                let n = try length(op == UInt8(ascii: "U") ? 1 : 4, "a string length")
                let raw = try take(n, "a string")
                stack.append(.string(String(decoding: raw, as: UTF8.self)))
            case UInt8(ascii: "B"), UInt8(ascii: "C"), 0x8E:  // BINBYTES, SHORT_BINBYTES, BINBYTES8
                let n = try length(op == UInt8(ascii: "C") ? 1 : op == 0x8E ? 8 : 4, "a bytes length")
                stack.append(.bytes(Array(try take(n, "bytes"))))
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw malformed("TUPLE\(n) needs \(n) values", at: opcodeOffset) }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(try tuple(items, at: opcodeOffset))
            case UInt8(ascii: "t"): stack.append(try tuple(try popToMark(), at: opcodeOffset))  // TUPLE
            case UInt8(ascii: "l"):  // LIST
                let list = arena.list()
                list.items = try popToMark()
                stack.append(.list(list))
            case UInt8(ascii: "d"):  // DICT
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw malformed("DICT with an odd number of items", at: opcodeOffset) }
                let dict = arena.dict()
                for k in stride(from: 0, to: items.count, by: 2) { dict.set(items[k], items[k + 1]) }
                stack.append(.dict(dict))
            case UInt8(ascii: "0"): _ = try pop()  // POP
            case UInt8(ascii: "1"): _ = try popToMark()  // POP_MARK
            case UInt8(ascii: "2"):  // DUP
                guard let top = stack.last else { throw malformed("DUP on an empty stack", at: opcodeOffset) }
                stack.append(top)
            case UInt8(ascii: "s"):  // SETITEM
                let value = try pop(), key = try pop()
                guard case .dict(let dict) = stack.last else { throw malformed("SETITEM on \(stack.last?.kindName ?? "nothing"), not a dict", at: opcodeOffset) }
                dict.set(key, value)
            case UInt8(ascii: "u"):  // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items", at: opcodeOffset) }
                guard case .dict(let dict) = stack.last else { throw malformed("SETITEMS on \(stack.last?.kindName ?? "nothing"), not a dict", at: opcodeOffset) }
                for k in stride(from: 0, to: items.count, by: 2) { dict.set(items[k], items[k + 1]) }
            case UInt8(ascii: "a"):  // APPEND
                let value = try pop()
                guard case .list(let list) = stack.last else { throw malformed("APPEND on \(stack.last?.kindName ?? "nothing"), not a list", at: opcodeOffset) }
                list.items.append(value)
            case UInt8(ascii: "e"):  // APPENDS
                let items = try popToMark()
                guard case .list(let list) = stack.last else { throw malformed("APPENDS on \(stack.last?.kindName ?? "nothing"), not a list", at: opcodeOffset) }
                list.items.append(contentsOf: items)
            case UInt8(ascii: "q"), UInt8(ascii: "r"):  // BINPUT, LONG_BINPUT
                let index = Int(try uint(op == UInt8(ascii: "q") ? 1 : 4, "a memo index"))
                guard let top = stack.last else { throw malformed("PUT on an empty stack", at: opcodeOffset) }
                memo[index] = top
            case 0x94:  // MEMOIZE
                guard let top = stack.last else { throw malformed("MEMOIZE on an empty stack", at: opcodeOffset) }
                memo[memo.count] = top
            case UInt8(ascii: "h"), UInt8(ascii: "j"):  // BINGET, LONG_BINGET
                let index = Int(try uint(op == UInt8(ascii: "h") ? 1 : 4, "a memo index"))
                guard let value = memo[index] else { throw malformed("GET of memo entry \(index), which was never stored", at: opcodeOffset) }
                stack.append(value)
            case UInt8(ascii: "c"):  // GLOBAL
                let module = try line("a GLOBAL module name")
                let name = try line("a GLOBAL name")
                stack.append(try global(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else {
                    throw malformed("STACK_GLOBAL needs two strings", at: opcodeOffset)
                }
                stack.append(try global(module: m, name: n))
            case UInt8(ascii: "Q"):  // BINPERSID
                let pid = try pop()
                stack.append(try persistentLoad(pid, opcodeOffset))
            case UInt8(ascii: "R"):  // REDUCE
                let args = try pop(), callable = try pop()
                guard case .tuple(let a, _) = args else { throw malformed("REDUCE arguments are \(args.kindName), not a tuple", at: opcodeOffset) }
                let result = try Unpickler.apply(callable, a, at: opcodeOffset)
                if case .dict(let d) = result { arena.adopt(d) }
                stack.append(result)
            case 0x81:  // NEWOBJ
                let args = try pop(), cls = try pop()
                guard case .global(.orderedDict) = cls, case .tuple = args else {
                    throw malformed("NEWOBJ of \(cls.kindName) (only collections.OrderedDict can be instantiated)", at: opcodeOffset)
                }
                stack.append(.dict(arena.dict()))
            case UInt8(ascii: "b"):  // BUILD: attribute state of a dict or tensor carries no weights
                _ = try pop()
                switch stack.last {
                case .dict?, .tensor?: break
                default: throw malformed("BUILD on \(stack.last?.kindName ?? "nothing")", at: opcodeOffset)
                }
            default:
                throw .unsupportedOpcode(opcode: op, offset: opcodeOffset)
            }
        }
    }

    /// The value of `callable(*args)` for the allowlisted callables.
    static func apply(_ callable: PickleValue, _ args: [PickleValue], at offset: Int, depth: Int = 0) throws(WeightFileError.Kind) -> PickleValue {
        func fail(_ reason: String) -> WeightFileError.Kind { .malformedPickle(offset: offset, reason: reason) }
        guard case .global(let g) = callable else { throw fail("REDUCE calls \(callable.kindName), which is not callable") }
        switch g {
        case .orderedDict:
            guard args.isEmpty else { throw fail("collections.OrderedDict is called with arguments") }
            return .dict(PickleDict())
        case .rebuildTensorV2, .rebuildTensor:
            guard args.count >= 4, g == .rebuildTensor || args.count >= 6 else {
                throw fail("\(g.qualifiedName) has \(args.count) arguments")
            }
            guard case .storage(let storage) = args[0] else { throw fail("\(g.qualifiedName): the storage argument is \(args[0].kindName)") }
            guard case .int(let storageOffset) = args[1] else { throw fail("\(g.qualifiedName): the storage offset is \(args[1].kindName)") }
            func ints(_ v: PickleValue, _ what: String) throws(WeightFileError.Kind) -> [Int] {
                guard case .tuple(let items, _) = v else { throw fail("\(g.qualifiedName): the \(what) is \(v.kindName), not a tuple") }
                var out: [Int] = []
                for item in items {
                    guard case .int(let i) = item else { throw fail("\(g.qualifiedName): the \(what) holds \(item.kindName)") }
                    out.append(i)
                }
                return out
            }
            return .tensor(TensorView(storage: storage, offset: storageOffset, size: try ints(args[2], "size"), stride: try ints(args[3], "stride")))
        case .rebuildParameter, .rebuildParameterWithState:
            guard let data = args.first, case .tensor = data else { throw fail("\(g.qualifiedName): the data is \(args.first?.kindName ?? "missing")") }
            return data
        case .rebuildFromTypeV2:
            guard depth < 8, args.count == 4, case .tuple(let inner, _) = args[2] else { throw fail("torch._tensor._rebuild_from_type_v2 has malformed arguments") }
            guard case .global(.tensorType) = args[1] else { throw fail("torch._tensor._rebuild_from_type_v2 rebuilds \(args[1].kindName), not a tensor type") }
            let result = try apply(args[0], inner, at: offset, depth: depth + 1)
            guard case .tensor = result else { throw fail("torch._tensor._rebuild_from_type_v2 did not rebuild a tensor") }
            return result
        case .tensorType, .storageType:
            throw fail("\(g.qualifiedName) cannot be called in a weight file")
        }
    }
}
