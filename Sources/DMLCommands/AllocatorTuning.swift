#if canImport(Glibc)
import Glibc
#endif

/// Process-wide tuning of glibc's allocator for numeric work.
///
/// A process setting, so only commands apply it, once, before any work (`dml train`,
/// `dml experiment`, `dml bench losses` unless `--no-allocator-tuning`); the library never calls
/// it. docs/networks.md (Threads and process settings) lists every process setting dml makes.
///
/// By default glibc serves every block above 128 KiB with `mmap` and unmaps it on `free`, so each
/// B×B or B×d matrix a loss allocates (256 KiB at B = 256 in Float) is zero-filled page by page
/// through page faults and unmapped again on every call — a third of an HNPM loss at B = 128.
/// Raising the mmap threshold to its 32 MiB maximum and the trim threshold to 1 GiB keeps such
/// blocks in the heap for reuse (the same as `MALLOC_MMAP_THRESHOLD_=33554432
/// MALLOC_TRIM_THRESHOLD_=1073741824` in the environment).
public enum AllocatorTuning {
    /// Applies the thresholds through glibc's `mallopt` (looked up at run time, since Swift's
    /// Glibc module does not export `<malloc.h>`). Returns whether both settings were accepted;
    /// `false` on a C library without `mallopt`.
    @discardableResult
    public static func keepLargeBlocksInTheHeap() -> Bool {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, 1 << 30) == 1
        #else
        return false
        #endif
    }
}
