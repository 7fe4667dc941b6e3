/// The processes that train one run together, and the collective operations they need for
/// data-parallel metric learning (SPEC §9):
///
/// - `allGather` concatenates equal-length contributions in rank order: every rank embeds
///   `B/N` rows of the global batch and gathers the `B × d` embedding matrix, so the loss, hard
///   negative pair mining and synthesis see the whole batch.
/// - `allGatherVariable` does the same for contributions of different lengths (shards of a
///   held-out split).
/// - `allReduceSum` sums a buffer element-wise over the ranks, in place: each rank's backward
///   gives the parameter gradient of its rows of `∂L/∂X`, and `∂L/∂θ = Σ_r ∂L/∂θ|_r`.
/// - `broadcast` copies rank `root`'s bytes to every rank (configurations, checkpoints).
/// - `barrier` waits for every rank.
///
/// Every rank must call every collective in the same order with compatible sizes; a mismatch
/// is an error (`CommunicatorError.mismatch`) where it can be detected, never silent.
///
/// Two implementations: `SingleProcessCommunicator` (size 1, every collective the identity,
/// no MPI call) and `MPICommunicator` (Open MPI's `MPI_COMM_WORLD`).
public protocol Communicator: AnyObject {
    /// This process's index, `0 ..< size`.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }

    /// `local` of every rank concatenated in rank order (`size · local.count` elements); every
    /// rank must contribute the same count.
    func allGather<T: CommunicatedScalar>(_ local: [T]) throws -> [T]
    /// `local` of every rank concatenated in rank order; counts may differ between ranks.
    func allGatherVariable<T: CommunicatedScalar>(_ local: [T]) throws -> [T]
    /// `buffer_i ← Σ_r buffer_i^(r)`, on every rank.
    func allReduceSum<T: CommunicatedScalar>(_ buffer: inout [T]) throws
    /// `buffer_i ← max_r buffer_i^(r)`, on every rank.
    func allReduceMax<T: CommunicatedScalar>(_ buffer: inout [T]) throws
    /// Replaces `bytes` on every rank by rank `root`'s (whose length the others need not know).
    func broadcast(_ bytes: inout [UInt8], from root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Ends every process of the job with `code` after writing `message` to standard error.
    func abort(code: Int32, message: String) -> Never
}

extension Communicator {
    /// Whether this is rank 0, the rank that writes logs, checkpoints and reports.
    public var isRoot: Bool { rank == 0 }

    /// The contiguous rows `[rank·B/N, (rank+1)·B/N)` of a global batch of `count` rows that this
    /// rank owns. Requires `count` divisible by `size` (checked by the trainer's validation).
    public func slice(ofCount count: Int) -> Range<Int> {
        let share = count / size
        return rank * share ..< (rank + 1) * share
    }

    /// The contiguous share of `count` items (not necessarily divisible) that rank `rank` owns:
    /// the first `count mod size` ranks get one more. Used to shard a held-out split.
    public func shard(ofCount count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + min(rank, extra)
        return start ..< start + base + (rank < extra ? 1 : 0)
    }

    /// Checks that every rank holds the same `bytes` (e.g. an encoded configuration): broadcasts
    /// rank 0's and compares. Throws `CommunicatorError.mismatch` naming `what` on the ranks that
    /// differ, after telling every rank (so none waits forever).
    public func requireIdentical(_ bytes: [UInt8], what: String) throws {
        var reference = bytes
        try broadcast(&reference, from: 0)
        var differs: [Int64] = [reference == bytes ? 0 : 1]
        try allReduceMax(&differs)
        if differs[0] != 0 {
            throw CommunicatorError.mismatch(what: "\(what) differs between ranks (rank \(rank) \(reference == bytes ? "matches" : "differs from") rank 0)")
        }
    }
}

/// A scalar that collectives can carry.
public protocol CommunicatedScalar: Sendable {
    /// The shim's data-type code (0 float, 1 double, 2 byte, 3 int64).
    static var mpiTypeCode: Int32 { get }
}

extension Float: CommunicatedScalar { public static var mpiTypeCode: Int32 { 0 } }
extension Double: CommunicatedScalar { public static var mpiTypeCode: Int32 { 1 } }
extension UInt8: CommunicatedScalar { public static var mpiTypeCode: Int32 { 2 } }
extension Int64: CommunicatedScalar { public static var mpiTypeCode: Int32 { 3 } }

/// A collective operation failed or the ranks disagree.
public enum CommunicatorError: Error, Equatable, CustomStringConvertible {
    /// An MPI call returned an error code.
    case mpi(call: String, code: Int32, message: String)
    /// The ranks called a collective with incompatible arguments, or hold different settings.
    case mismatch(what: String)
    /// A buffer is too large for one MPI call's `int` count.
    case tooLarge(call: String, count: Int)

    public var description: String {
        switch self {
        case .mpi(let call, let code, let message): "\(call) failed (MPI error \(code)): \(message)"
        case .mismatch(let what): what
        case .tooLarge(let call, let count): "\(call): \(count) elements exceed MPI's 32-bit count"
        }
    }
}

/// One process: `rank` 0, `size` 1, every collective the identity. No MPI call is made.
public final class SingleProcessCommunicator: Communicator {
    /// The one-process group.
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allGather<T: CommunicatedScalar>(_ local: [T]) throws -> [T] { local }
    public func allGatherVariable<T: CommunicatedScalar>(_ local: [T]) throws -> [T] { local }
    public func allReduceSum<T: CommunicatedScalar>(_ buffer: inout [T]) throws {}
    public func allReduceMax<T: CommunicatedScalar>(_ buffer: inout [T]) throws {}
    public func broadcast(_ bytes: inout [UInt8], from root: Int) throws {
        precondition(root == 0, "a single process has only rank 0")
    }
    public func barrier() throws {}
    public func abort(code: Int32, message: String) -> Never {
        FileHandleStandardError.write(message)
        exitProcess(code)
    }
}
