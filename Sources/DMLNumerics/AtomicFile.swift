import Foundation

/// Writes files so that a reader never sees a partial file: the bytes go to a temporary file
/// in the same directory, are flushed to disk, and the temporary file is renamed over the
/// destination (an atomic replace on POSIX file systems). A crash leaves either the old file
/// or the new one.
public enum AtomicFile {
    /// Writes `data` to `path` atomically, creating the parent directory if needed.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try createParentDirectory(directory, for: path)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
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
    }

    /// Writes a UTF-8 string to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }
}

/// A file could not be written.
public struct FileWriteError: Error, CustomStringConvertible {
    /// The destination path.
    public let path: String
    /// What went wrong.
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
