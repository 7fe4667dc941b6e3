import Foundation
import DMLNumerics
#if canImport(Glibc)
import Glibc
#endif

/// How `dml train` treats the run directory it is given.
public enum RunStart: Sendable, Equatable {
    /// A new run: the directory must not hold another run's files.
    case fresh
    /// Continue the run in the directory from its `last` checkpoint (from iteration 0 when it
    /// has none yet); its configuration must match, except `output` and `iterations`.
    case resume
    /// Replace the run in the directory: its known run files are removed (only those, see
    /// `RunFiles.runFiles`) once the new run can start.
    case overwrite
}

/// Why a run directory cannot be used.
public enum RunDirectoryError: Error, Equatable, CustomStringConvertible {
    /// The output path is empty or the file-system root.
    case unusableOutput(path: String, reason: String)
    /// Another process holds the directory's lock.
    case inUse(directory: String, pid: Int32?)
    /// The directory holds another run and neither `--resume` nor `--overwrite` was given.
    case holdsAnotherRun(directory: String, files: [String])
    /// A resumed run would end before the iterations it has already done.
    case shrinking(directory: String, done: Int, requested: Int)

    public var description: String {
        switch self {
        case let .unusableOutput(path, reason):
            "output directory \"\(path)\": \(reason)"
        case let .inUse(directory, pid):
            "\(directory) is in use by another dml process (\(pid.map { "pid \($0)" } ?? "pid unknown"), holding \(directory)/\(RunFiles.lockName)); wait for it to finish or choose another --output"
        case let .holdsAnotherRun(directory, files):
            "\(directory) already holds a run (\(files.joined(separator: ", "))); pass --resume to continue it, --overwrite to replace it, or choose another --output"
        case let .shrinking(directory, done, requested):
            "\(directory): the run has already done \(done) iterations, so it cannot be resumed to \(requested); give --iterations \(done) or more (or --overwrite to start again)"
        }
    }
}

/// The files of a run directory (docs/RUN_DIRECTORY.md) and the operations on them that keep
/// one directory holding exactly one run: the lock, the check for another run, `--overwrite`
/// and the clean-up of temporary files left by a killed writer.
public struct RunFiles: Sendable {
    /// The directory.
    public let path: String

    /// The name of the lock file held for the life of a run.
    public static let lockName = "run.lock"
    /// The resolved training configuration.
    public static let configuration = "config.json"
    /// The training log (`RunLog`).
    public static let log = "log.jsonl"
    /// The final metrics (`RunMetrics`); written last, its presence marks a finished run.
    public static let metrics = "metrics.json"
    /// The run's HTML report.
    public static let report = "report.html"
    /// The checkpoint written at every evaluation.
    public static let lastCheckpoint = "checkpoints/last.ckpt"
    /// The checkpoint of the best Recall@1 so far.
    public static let bestCheckpoint = "checkpoints/best.ckpt"
    /// The final held-out embeddings, float32 N × d.
    public static let testEmbeddings = "embeddings/test_embeddings.npy"
    /// Their labels, int64 N.
    public static let testLabels = "embeddings/test_labels.npy"
    /// Small images of the held-out items, uint8 N × h × w × c (`Thumbnails`).
    public static let testThumbnails = "embeddings/test_thumbnails.npy"
    /// The held-out classes' names (`TestClassList`).
    public static let testClasses = "embeddings/test_classes.json"
    /// The files a run writes, relative to its directory. `--overwrite` removes these and
    /// nothing else.
    public static let runFiles = [
        configuration, log, metrics, report, lastCheckpoint, bestCheckpoint, testEmbeddings, testLabels, testThumbnails,
    ]
    /// The sub-directories a run creates.
    public static let subdirectories = ["checkpoints", "embeddings"]

    /// The run files of the directory at `path`.
    public init(_ path: String) { self.path = path }

    /// `path/relative`.
    public func file(_ relative: String) -> String { (path as NSString).appendingPathComponent(relative) }

    /// JSON of a configuration as `config.json` holds it: pretty-printed, keys sorted.
    public static func configurationJSON(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// Writes `config.json` (atomically, as every write here).
    public func writeConfiguration(_ configuration: some Encodable) throws {
        try AtomicFile.write(RunFiles.configurationJSON(configuration), to: file(RunFiles.configuration))
    }

    /// Writes the final held-out embeddings, their labels, the thumbnails (when the data are
    /// images) and the class names: everything of `embeddings/`.
    public func writeTestEmbeddings(_ embeddings: Matrix<Float>, labels: [Int], thumbnails: NPYArray?,
                                    classes: [(originalID: Int, name: String)]) throws {
        try NPYArray(embeddings).write(to: file(RunFiles.testEmbeddings))
        try NPYArray(labels: labels).write(to: file(RunFiles.testLabels))
        if let thumbnails { try thumbnails.write(to: file(RunFiles.testThumbnails)) }
        try AtomicFile.write(TestClassList.encoded(classes), to: file(RunFiles.testClasses))
    }

    /// Writes `metrics.json`, which marks the run as finished: call it last.
    public func writeMetrics(_ metrics: RunMetrics) throws {
        try AtomicFile.write(metrics.encoded(), to: file(RunFiles.metrics))
    }

    /// Refuses output paths that would scatter a run's files over something that is not a
    /// run directory: the empty path and the file-system root (however spelled: `/`, `//`,
    /// `/..`, or `.` in `/`).
    public static func validateOutput(_ path: String) throws {
        guard !path.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw RunDirectoryError.unusableOutput(path: path, reason: "an empty path is not a run directory; give --output DIR")
        }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved != "/" else {
            throw RunDirectoryError.unusableOutput(path: path, reason: "the file-system root cannot be a run directory; give a directory of its own")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw RunDirectoryError.unusableOutput(path: path, reason: "is a file, not a directory")
        }
    }

    /// The run files present (relative paths, in `runFiles` order).
    public func existingRunFiles() -> [String] {
        RunFiles.runFiles.filter { FileManager.default.fileExists(atPath: file($0)) }
    }

    /// Removes the run files and the stale temporary files, then the sub-directories a run
    /// creates if they are left empty. Other files are kept.
    public func removeRun() throws {
        removeStaleTemporaries()
        for name in existingRunFiles() {
            do {
                try FileManager.default.removeItem(atPath: file(name))
            } catch {
                throw FileWriteError(path: file(name), reason: "cannot remove the old run's file (\(error.localizedDescription))")
            }
        }
        for sub in RunFiles.subdirectories {
            if let left = try? FileManager.default.contentsOfDirectory(atPath: file(sub)), left.isEmpty {
                try? FileManager.default.removeItem(atPath: file(sub))
            }
        }
        if FileManager.default.fileExists(atPath: path) { try AtomicFile.synchronizeDirectory(path) }
    }

    /// Removes temporary files of atomic writes whose writer is gone, in the directory and its
    /// sub-directories; returns their paths.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        ([path] + RunFiles.subdirectories.map(file)).flatMap { AtomicFile.removeStaleTemporaries(in: $0) }
    }
}

/// An exclusive lock on a run directory, held from creation until `release()` or
/// deinitialization: an advisory `flock` on `DIR/run.lock`, which holds the owner's process id.
/// The kernel drops the lock when the process ends in any way (including `kill -9`), so a
/// stale lock file never blocks a later run; a second writer gets `RunDirectoryError.inUse`
/// naming the holder's pid.
public final class RunDirectoryLock {
    /// The lock file.
    public let path: String
    private var descriptor: Int32

    /// Takes the lock of `directory` (created if needed), or throws `RunDirectoryError.inUse`.
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(RunFiles.lockName)
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw FileWriteError(path: path, reason: "cannot open the lock file: \(String(cString: strerror(errno)))")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                let reason = String(cString: strerror(errno))
                let holder = RunDirectoryLock.readPID(fd)
                close(fd)
                if busy { throw RunDirectoryError.inUse(directory: directory, pid: holder) }
                throw FileWriteError(path: path, reason: "cannot lock: \(reason)")
            }
            // The previous holder removes the file when it releases; if that happened between
            // our open and our flock, we locked a file nobody else will see: try again.
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev {
                descriptor = fd
                break
            }
            close(fd)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Whether the lock is still held by this object.
    public var isHeld: Bool { descriptor >= 0 }

    /// Releases the lock and removes the lock file (idempotent).
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
