import Foundation

/// Omniglot in its official layout: `images_background/ALPHABET/characterNN/*.png` (964
/// characters, the training classes) and `images_evaluation/…` (659 characters, the test classes).
/// Each character is a class; classes are numbered in sorted (alphabet, character) order, background
/// first.
public enum Omniglot {
    /// Reads Omniglot from `root`: a folder holding `images_background` and `images_evaluation`, or
    /// an archive (`.tar.zst`, `.tar.gz`, `.tar`) of that folder, extracted once into
    /// `cacheDirectory` (default `DatasetCache.defaultDirectory`).
    public static func load(root: String, options: ImageDatasetOptions? = nil, cacheDirectory: String? = nil) throws -> Dataset {
        let options = try options ?? .smallImages(size: 28)
        var folder = root
        if !isDirectory(root) {
            folder = try ArchiveExtractor.extractOnce(archive: root, into: cacheDirectory ?? DatasetCache.defaultDirectory,
                                                      expecting: "images_background")
        }
        if !isDirectory(folder + "/images_background"), isDirectory(folder + "/omniglot") { folder += "/omniglot" }
        var records = [ImageRecord]()
        var names = [String]()
        var backgroundClasses = Set<Int>()
        for set in ["images_background", "images_evaluation"] {
            let setFolder = folder + "/" + set
            try requireDirectory(setFolder, what: "Omniglot's \(set) folder of ALPHABET/characterNN/*.png")
            for alphabet in try ImageFolderDataset.subdirectories(of: setFolder) {
                for character in try ImageFolderDataset.subdirectories(of: setFolder + "/" + alphabet) {
                    let id = names.count
                    names.append(alphabet + "/" + character)
                    if set == "images_background" { backgroundClasses.insert(id) }
                    let dir = setFolder + "/" + alphabet + "/" + character
                    records += try ImageFolderDataset.imageFiles(in: dir).map { ImageRecord(path: dir + "/" + $0, classID: id) }
                }
            }
        }
        guard !backgroundClasses.isEmpty, backgroundClasses.count < names.count else {
            throw DataError(file: folder, "Omniglot needs characters in both images_background and images_evaluation")
        }
        return try .images(name: "omniglot", records: records, trainClasses: backgroundClasses,
                           className: { names[$0] }, options: options)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}

/// Where extracted archives are kept.
public enum DatasetCache {
    /// `$DML_CACHE_DIR`, else `$XDG_CACHE_HOME/swift-metric-learning`, else
    /// `~/.cache/swift-metric-learning`.
    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["DML_CACHE_DIR"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/swift-metric-learning" }
        return NSHomeDirectory() + "/.cache/swift-metric-learning"
    }
}

/// Extracts a tar archive once, with the system `tar` (zstd and gzip through `--zstd` / `-z`).
enum ArchiveExtractor {
    /// The folder the archive at `archive` is extracted to under `cache`, extracting it first if
    /// needed. Extraction goes to a temporary folder renamed into place, so an interrupted run never
    /// leaves a half-extracted cache. `expecting` is an entry the archive must contain.
    static func extractOnce(archive: String, into cache: String, expecting: String) throws -> String {
        let fm = FileManager.default
        guard let attributes = try? fm.attributesOfItem(atPath: archive) else {
            throw DataError(file: archive, "no such file or folder (expected the dataset folder or its .tar.zst archive)")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let base = (archive as NSString).lastPathComponent
        let target = cache + "/" + base.replacingOccurrences(of: ".", with: "_") + "-\(size)"
        if fm.fileExists(atPath: target + "/" + expecting) { return target }
        let compression: [String]
        if base.hasSuffix(".tar.zst") || base.hasSuffix(".tzst") {
            compression = ["--zstd"]
        } else if base.hasSuffix(".tar.gz") || base.hasSuffix(".tgz") {
            compression = ["-z"]
        } else if base.hasSuffix(".tar") {
            compression = []
        } else {
            throw DataError(file: archive, "not a folder and not a .tar, .tar.gz or .tar.zst archive")
        }
        let temporary = target + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        } catch {
            throw DataError(file: temporary, "cannot create the cache folder (\(error.localizedDescription))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar"] + compression + ["-xf", archive, "-C", temporary]
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch {
            throw DataError(file: archive, "cannot run tar (\(error.localizedDescription))")
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            try? fm.removeItem(atPath: temporary)
            throw DataError(file: archive, "tar could not extract the archive (\(message.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        guard fm.fileExists(atPath: temporary + "/" + expecting) else {
            try? fm.removeItem(atPath: temporary)
            throw DataError(file: archive, "the archive has no '\(expecting)' at its top level")
        }
        if fm.fileExists(atPath: target) {  // another process finished first
            try? fm.removeItem(atPath: temporary)
            return target
        }
        do { try fm.moveItem(atPath: temporary, toPath: target) } catch {
            if !fm.fileExists(atPath: target + "/" + expecting) {
                throw DataError(file: target, "cannot move the extracted archive into place (\(error.localizedDescription))")
            }
            try? fm.removeItem(atPath: temporary)
        }
        return target
    }
}
