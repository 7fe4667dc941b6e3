/// Stanford Online Products in its official layout: `Ebay_train.txt` and `Ebay_test.txt`, each a
/// header line then `image_id class_id super_class_id path` per line. The official files are
/// already class-disjoint (classes 1–11318 train, 11319–22634 test).
public enum StanfordOnlineProducts {
    /// Reads the dataset under `root` (the `Stanford_Online_Products` folder).
    public static func load(root: String, options: ImageDatasetOptions = .papers) throws -> Dataset {
        try requireDirectory(root, what: "the Stanford_Online_Products folder with Ebay_train.txt")
        func records(_ file: String) throws -> [ImageRecord] {
            let path = root + "/" + file
            return try TextTable.rows(path, skipHeader: true).map { row in
                guard row.fields.count == 4 else {
                    throw DataError(file: path, line: row.line, "expected 4 fields (image_id class_id super_class_id path), found \(row.fields.count)")
                }
                let classID = try TextTable.integer(row, 1, name: "class id", file: path)
                guard classID >= 1 else { throw DataError(file: path, line: row.line, "class id \(classID) must be at least 1") }
                _ = try TextTable.integer(row, 2, name: "super class id", file: path)
                return ImageRecord(path: root + "/" + row.fields[3], classID: classID)
            }
        }
        let train = try records("Ebay_train.txt"), test = try records("Ebay_test.txt")
        let trainClasses = Set(train.map(\.classID))
        if let shared = test.first(where: { trainClasses.contains($0.classID) }) {
            throw DataError(file: root + "/Ebay_test.txt", "class \(shared.classID) is also in Ebay_train.txt; the splits must be class-disjoint")
        }
        return try .images(name: "sop", records: train + test, trainClasses: trainClasses,
                           className: { String($0) }, options: options)
    }
}
