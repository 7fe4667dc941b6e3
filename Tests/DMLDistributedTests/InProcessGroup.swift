import Foundation
import DMLDistributed

/// `size` communicators in one process, one per thread, whose collectives meet through shared
/// memory: an independent implementation of the `Communicator` semantics (concatenate in rank
/// order, element-wise sums in rank order) for testing data-parallel code without `mpirun`.
final class InProcessGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var slots: [[UInt8]?]
    private var generation = 0
    private var arrived = 0
    private var published: [[UInt8]] = []

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    /// Every rank deposits `bytes`; all receive every rank's bytes in rank order.
    func exchange(rank: Int, _ bytes: [UInt8]) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let myGeneration = generation
        slots[rank] = bytes
        arrived += 1
        if arrived == size {
            published = slots.map { $0! }
            slots = Array(repeating: nil, count: size)
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == myGeneration { condition.wait() }
        }
        return published
    }

    /// Runs `body(communicator)` on `size` threads and returns their results in rank order.
    func run<R: Sendable>(_ body: @escaping @Sendable (any Communicator) throws -> R) throws -> [R] {
        let results = Results<R>(size: size)
        let group = DispatchGroup()
        for rank in 0..<size {
            let communicator = Member(group: self, rank: rank)
            group.enter()
            Thread {
                results.set(rank, Result { try body(communicator) })
                group.leave()
            }.start()
        }
        group.wait()
        return try results.values.map { try $0!.get() }
    }

    private final class Results<R>: @unchecked Sendable {
        private let lock = NSLock()
        var values: [Result<R, any Error>?]
        init(size: Int) { values = Array(repeating: nil, count: size) }
        func set(_ i: Int, _ r: Result<R, any Error>) { lock.withLock { values[i] = r } }
    }

    final class Member: Communicator, @unchecked Sendable {
        let group: InProcessGroup
        let rank: Int
        var size: Int { group.size }
        init(group: InProcessGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }

        private func bytes<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        private func values<T>(_ b: [UInt8], as _: T.Type) -> [T] {
            let n = b.count / MemoryLayout<T>.stride
            return [T](unsafeUninitializedCapacity: n) { buffer, count in
                b.withUnsafeBytes { raw in
                    for i in 0..<n { buffer[i] = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.stride, as: T.self) }
                }
                count = n
            }
        }

        func allGather<T: CommunicatedScalar>(_ local: [T]) throws -> [T] {
            let all = group.exchange(rank: rank, bytes(local))
            guard Set(all.map(\.count)).count == 1 else { throw CommunicatorError.mismatch(what: "allGather counts") }
            return all.flatMap { values($0, as: T.self) }
        }
        func allGatherVariable<T: CommunicatedScalar>(_ local: [T]) throws -> [T] {
            group.exchange(rank: rank, bytes(local)).flatMap { values($0, as: T.self) }
        }
        func allReduceSum<T: CommunicatedScalar>(_ buffer: inout [T]) throws {
            let all = group.exchange(rank: rank, bytes(buffer)).map { values($0, as: T.self) }
            buffer = InProcessGroup.reduce(all, +) as! [T]
        }
        func allReduceMax<T: CommunicatedScalar>(_ buffer: inout [T]) throws {
            let all = group.exchange(rank: rank, bytes(buffer)).map { values($0, as: T.self) }
            buffer = InProcessGroup.reduce(all, max) as! [T]
        }
        func broadcast(_ bytes: inout [UInt8], from root: Int) throws {
            bytes = group.exchange(rank: rank, bytes)[root]
        }
        func barrier() throws { _ = group.exchange(rank: rank, []) }
        func abort(code: Int32, message: String) -> Never { fatalError(message) }
    }

    /// Element-wise reduction in rank order, for the scalar types the tests use.
    static func reduce<T>(_ all: [[T]], _ op: (Double, Double) -> Double) -> [Any] {
        let n = all.first?.count ?? 0
        return (0..<n).map { i -> Any in
            switch all[0][i] {
            case is Float:
                var s = all[0][i] as! Float
                for r in 1..<all.count { s = Float(op(Double(s), Double(all[r][i] as! Float))) }
                return s
            case is Double:
                var s = all[0][i] as! Double
                for r in 1..<all.count { s = op(s, all[r][i] as! Double) }
                return s
            default:
                var s = all[0][i] as! Int64
                for r in 1..<all.count { s = Int64(op(Double(s), Double(all[r][i] as! Int64))) }
                return s
            }
        }
    }
}
