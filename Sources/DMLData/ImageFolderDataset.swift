import Foundation

/// An image folder with one sub-folder per class (`root/CLASS/*.jpg|png`); classes are numbered
/// 0… in sorted name order and split by a `ClassSplit`.
public enum ImageFolderDataset {
    /// The file extensions read as images (case-insensitive).
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Reads the folder `root`.
    public static func load(root: String, split: ClassSplit = .firstHalf, options: ImageDatasetOptions = .papers) throws -> Dataset {
        try requireDirectory(root, what: "a folder with one sub-folder of images per class")
        let classNames = try subdirectories(of: root)
        guard !classNames.isEmpty else { throw DataError(file: root, "no class sub-folders") }
        var records = [ImageRecord]()
        for (id, name) in classNames.enumerated() {
            let files = try imageFiles(in: root + "/" + name)
            guard !files.isEmpty else {
                throw DataError(file: root + "/" + name, "the class folder holds no images (expected .jpg, .jpeg or .png files); remove it or add its images")
            }
            records += files.map { ImageRecord(path: root + "/" + name + "/" + $0, classID: id) }
        }
        let (train, _) = try split.partition(0..<classNames.count, source: root)
        return try .images(name: "folder", records: records, trainClasses: train,
                           className: { classNames[$0] }, options: options)
    }

    /// The sorted names of the sub-folders of `path` (hidden ones skipped).
    static func subdirectories(of path: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw DataError(file: path, "cannot list the folder (\(error.localizedDescription))")
        }
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }

    /// The sorted names of the image files in `path`.
    static func imageFiles(in path: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw DataError(file: path, "cannot list the folder (\(error.localizedDescription))")
        }
        return names.filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }
}
