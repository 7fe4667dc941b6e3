import CMPI
import Foundation

/// Open MPI's `MPI_COMM_WORLD` as a `Communicator`.
///
/// MPI calls used (all through the C shim `CMPI`, since Open MPI's handles are macros Swift
/// cannot import): `MPI_Init_thread` (`MPI_THREAD_FUNNELED`: only the thread that created the
/// communicator calls MPI), `MPI_Comm_set_errhandler(MPI_ERRORS_RETURN)`, `MPI_Comm_rank`,
/// `MPI_Comm_size`, `MPI_Allgather`, `MPI_Allgatherv`, `MPI_Allreduce` (`MPI_SUM`, `MPI_MAX`,
/// in place), `MPI_Bcast`, `MPI_Barrier`, `MPI_Abort`, `MPI_Error_string`, `MPI_Finalize`.
///
/// Buffers longer than `Int32.max` elements are split into several calls for the reductions
/// and broadcasts; gathers reject them (`CommunicatorError.tooLarge`).
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int

    /// Initializes MPI (once per process) and reads rank and size.
    public init() throws {
        if dml_mpi_is_initialized() == 0 {
            try MPICommunicator.check(dml_mpi_init(), "MPI_Init_thread")
        }
        var r: Int32 = 0, s: Int32 = 0
        try MPICommunicator.check(dml_mpi_rank(&r), "MPI_Comm_rank")
        try MPICommunicator.check(dml_mpi_size(&s), "MPI_Comm_size")
        rank = Int(r)
        size = Int(s)
    }

    /// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec` of Open MPI,
    /// MPICH's Hydra, or a PMIx-based launcher such as Slurm's `srun --mpi=pmix`), read from the
    /// environment variables those launchers set. A plain `dml train` sees none and never
    /// initializes MPI.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains { environment[$0] != nil }
    }

    /// Calls `MPI_Finalize` if MPI was initialized and not yet finalized. Call once, at the end
    /// of the process, after the last collective.
    public static func finalize() {
        if dml_mpi_is_initialized() != 0 && dml_mpi_is_finalized() == 0 { _ = dml_mpi_finalize() }
    }

    public func allGather<T: CommunicatedScalar>(_ local: [T]) throws -> [T] {
        let count = try MPICommunicator.int32Count(local.count, "MPI_Allgather")
        let (total, overflow) = local.count.multipliedReportingOverflow(by: size)
        guard !overflow else { throw CommunicatorError.tooLarge(call: "MPI_Allgather", count: local.count) }
        var out = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try local.withUnsafeBytes { send in
            try out.withUnsafeMutableBytes { recv in
                try MPICommunicator.check(dml_mpi_allgather(send.baseAddress, recv.baseAddress, count, T.mpiTypeCode),
                                          "MPI_Allgather")
            }
        }
        return out
    }

    public func allGatherVariable<T: CommunicatedScalar>(_ local: [T]) throws -> [T] {
        let count = try MPICommunicator.int32Count(local.count, "MPI_Allgatherv")
        let counts = try allGather([Int64(count)])
        var displacements = [Int32](), total = 0
        for c in counts {
            displacements.append(try MPICommunicator.int32Count(total, "MPI_Allgatherv"))
            total += Int(c)
        }
        _ = try MPICommunicator.int32Count(total, "MPI_Allgatherv")
        let counts32 = counts.map { Int32($0) }
        var out = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        try local.withUnsafeBytes { send in
            try out.withUnsafeMutableBytes { recv in
                try MPICommunicator.check(
                    dml_mpi_allgatherv(send.baseAddress, count, recv.baseAddress, counts32, displacements, T.mpiTypeCode),
                    "MPI_Allgatherv")
            }
        }
        return out
    }

    public func allReduceSum<T: CommunicatedScalar>(_ buffer: inout [T]) throws {
        try chunked(&buffer, "MPI_Allreduce") { dml_mpi_allreduce_sum($0, $1, T.mpiTypeCode) }
    }

    public func allReduceMax<T: CommunicatedScalar>(_ buffer: inout [T]) throws {
        try chunked(&buffer, "MPI_Allreduce") { dml_mpi_allreduce_max($0, $1, T.mpiTypeCode) }
    }

    public func broadcast(_ bytes: inout [UInt8], from root: Int) throws {
        var length = [Int64(bytes.count)]
        try length.withUnsafeMutableBytes {
            try MPICommunicator.check(dml_mpi_broadcast($0.baseAddress, 1, Int64.mpiTypeCode, Int32(root)), "MPI_Bcast")
        }
        guard length[0] >= 0 && length[0] <= Int64(Int.max) else {
            throw CommunicatorError.mismatch(what: "MPI_Bcast: rank \(root) sent a length of \(length[0])")
        }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        try chunked(&bytes, "MPI_Bcast") { dml_mpi_broadcast($0, $1, UInt8.mpiTypeCode, Int32(root)) }
    }

    public func barrier() throws {
        try MPICommunicator.check(dml_mpi_barrier(), "MPI_Barrier")
    }

    public func abort(code: Int32, message: String) -> Never {
        FileHandleStandardError.write(message)
        dml_mpi_abort(code)
        exitProcess(code)
    }

    /// Runs `call` over pieces of at most `Int32.max` elements.
    private func chunked<T>(_ buffer: inout [T], _ name: String,
                            _ call: (UnsafeMutableRawPointer?, Int32) -> Int32) throws {
        let stride = MemoryLayout<T>.stride
        try buffer.withUnsafeMutableBytes { raw in
            var start = 0
            let count = raw.count / max(stride, 1)
            repeat {
                let n = min(count - start, Int(Int32.max))
                try MPICommunicator.check(call(raw.baseAddress.map { $0 + start * stride }, Int32(n)), name)
                start += n
            } while start < count
        }
    }

    private static func int32Count(_ n: Int, _ call: String) throws -> Int32 {
        guard n <= Int(Int32.max) else { throw CommunicatorError.tooLarge(call: call, count: n) }
        return Int32(n)
    }

    private static func check(_ code: Int32, _ call: String) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: Int(dml_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        dml_mpi_error_string(code, &text, &length)
        let bytes = text.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
        throw CommunicatorError.mpi(call: call, code: code, message: String(decoding: bytes, as: UTF8.self))
    }
}

/// The communicator a command should use: MPI when launched by `mpirun`, else one process.
public func makeCommunicator() throws -> any Communicator {
    MPICommunicator.isLaunchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
}
