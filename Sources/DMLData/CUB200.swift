import Foundation

/// CUB-200-2011 in its official layout: `images.txt` (image_id path), `image_class_labels.txt`
/// (image_id class_id), `classes.txt` (class_id name) and `images/`. Classes 1–100 train,
/// 101–200 test.
public enum CUB200 {
    /// Reads the dataset under `root` (the `CUB_200_2011` folder).
    public static func load(root: String, options: ImageDatasetOptions = .papers) throws -> Dataset {
        try requireDirectory(root, what: "the CUB_200_2011 folder with images.txt")
        let imagesFile = root + "/images.txt", labelsFile = root + "/image_class_labels.txt", classesFile = root + "/classes.txt"
        var paths = [Int: String]()
        for row in try TextTable.rows(imagesFile) {
            let id = try TextTable.integer(row, 0, name: "image id", file: imagesFile)
            paths[id] = root + "/images/" + (try TextTable.field(row, 1, file: imagesFile))
        }
        var names = [Int: String]()
        if FileManager.default.fileExists(atPath: classesFile) {
            for row in try TextTable.rows(classesFile) {
                names[try TextTable.integer(row, 0, name: "class id", file: classesFile)] = try TextTable.field(row, 1, file: classesFile)
            }
        }
        var records = [ImageRecord]()
        for row in try TextTable.rows(labelsFile) {
            let id = try TextTable.integer(row, 0, name: "image id", file: labelsFile)
            let classID = try TextTable.integer(row, 1, name: "class id", file: labelsFile)
            guard (1...200).contains(classID) else {
                throw DataError(file: labelsFile, line: row.line, "class id \(classID) outside 1…200")
            }
            guard let path = paths[id] else {
                throw DataError(file: labelsFile, line: row.line, "image id \(id) is not listed in images.txt")
            }
            records.append(ImageRecord(path: path, classID: classID))
        }
        return try .images(name: "cub", records: records, trainClasses: Set(1...100),
                           className: { names[$0] ?? String($0) }, options: options)
    }
}
