import Foundation

extension AtomicFile {
    /// Creates the folder `path` and its parents if needed, with an error naming the path when a
    /// regular file is in the way or the folder cannot be made (not Foundation's raw dump).
    public static func createDirectory(_ path: String) throws {
        try createParentDirectory(URL(fileURLWithPath: path), for: path)
    }

    /// Creates the folder `directory` (and its parents) for the file `path`, with an error that
    /// names the path and says why, instead of Foundation's raw `NSCocoaErrorDomain` dump: a
    /// regular file in the way, or a folder that cannot be created.
    static func createParentDirectory(_ directory: URL, for path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw FileWriteError(path: path, reason: "\(directory.path) is a file, not a folder")
        }
        // The nearest existing ancestor tells a file in the way from a missing permission.
        var ancestor = directory.deletingLastPathComponent()
        while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            ancestor = ancestor.deletingLastPathComponent()
        }
        if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw FileWriteError(path: path, reason: "\(ancestor.path) is a file, not a folder")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: path, reason: "cannot create the folder \(directory.path) (\(String(cString: strerror(errno))))")
        }
    }

    /// Writes several files so that either all of them are replaced or, when any cannot be
    /// written, none is: every file is first written in full to a temporary file beside its
    /// destination and flushed; only when all are ready are they renamed over their
    /// destinations. (A failure of a rename itself — not seen on a local file system once the
    /// temporary file exists in the same folder — would leave the earlier ones replaced.)
    public static func writeAll(_ files: [(data: Data, path: String)]) throws {
        var staged = [(temporary: String, path: String)]()
        func discard() { for s in staged { unlink(s.temporary) } }
        for (data, path) in files {
            let url = URL(fileURLWithPath: path)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                discard()
                throw FileWriteError(path: path, reason: "is a folder, expected a file name")
            }
            let directory = url.deletingLastPathComponent()
            let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
            do {
                try createParentDirectory(directory, for: path)
                guard FileManager.default.createFile(atPath: temporary, contents: nil) else {
                    throw FileWriteError(path: path, reason: "cannot create a file in \(directory.path) (\(String(cString: strerror(errno))))")
                }
                staged.append((temporary, path))
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
                defer { try? handle.close() }
                try handle.write(contentsOf: data)
                try handle.synchronize()
            } catch let error as FileWriteError {
                discard()
                throw error
            } catch {
                discard()
                throw FileWriteError(path: path, reason: "\(error.localizedDescription)")
            }
        }
        for (k, s) in staged.enumerated() where rename(s.temporary, s.path) != 0 {
            let reason = String(cString: strerror(errno))
            for rest in staged[k...] { unlink(rest.temporary) }
            throw FileWriteError(path: s.path, reason: reason)
        }
    }
}
