import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files so that a reader never sees a partial file and a power loss never loses a
/// file that was reported written: the bytes go to a temporary file `.NAME.tmp-PID-RANDOM` in
/// the same directory, the file is flushed to disk (`fsync`), renamed over the destination (an
/// atomic replace on POSIX file systems), and the directory is flushed too, so the rename
/// itself is durable. A crash leaves either the old file or the new one, plus at most a
/// temporary file that `removeStaleTemporaries(in:)` cleans up.
public enum AtomicFile {
    /// Writes `data` to `path` atomically and durably, creating the parent directory if needed.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try createParentDirectory(directory, for: path)
        let temporary = directory.appendingPathComponent(
            temporaryPrefix(for: url.lastPathComponent) + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw FileWriteError(path: path, reason: "cannot create a temporary file in \(directory.path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, url.path) == 0 else {
                throw FileWriteError(path: path, reason: String(cString: strerror(errno)))
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if error is FileWriteError { throw error }
            throw FileWriteError(path: path, reason: "\(error)")
        }
        try synchronizeDirectory(directory.path, for: path)
    }

    /// Writes a UTF-8 string to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Flushes a directory's entries (a rename or a removal in it) to disk.
    public static func synchronizeDirectory(_ directory: String, for path: String? = nil) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else {
            throw FileWriteError(path: path ?? directory, reason: "cannot open the directory \(directory) to flush it: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw FileWriteError(path: path ?? directory, reason: "cannot flush the directory \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// The prefix of the temporary files written for a destination named `name`:
    /// `.NAME.tmp-`, followed by the writer's process id, `-` and a random number.
    public static func temporaryPrefix(for name: String) -> String { ".\(name).tmp-" }

    /// The temporary files that writers no longer alive left in `directory` (their process id,
    /// the number after `.tmp-`, names no running process), as full paths.
    public static func staleTemporaries(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard name.hasPrefix("."), let range = name.range(of: ".tmp-", options: .backwards) else { return nil }
            let rest = name[range.upperBound...]
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]),
                  rest[rest.index(after: dash)...].allSatisfy(\.isNumber) else { return nil }
            let alive = pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
            return alive ? nil : (directory as NSString).appendingPathComponent(name)
        }
    }

    /// Removes the stale temporary files of `directory` (see `staleTemporaries(in:)`) and
    /// returns their paths.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        let stale = staleTemporaries(in: directory)
        for path in stale { try? FileManager.default.removeItem(atPath: path) }
        return stale
    }
}

/// A file could not be written.
public struct FileWriteError: Error, CustomStringConvertible {
    /// The destination path.
    public let path: String
    /// What went wrong.
    public let reason: String
    /// An error writing `path` because of `reason`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot write \(path): \(reason)" }
}
