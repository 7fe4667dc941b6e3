/// CARS196 as distributed: `cars_annos.mat` (a MAT v5 file whose struct array `annotations` has
/// `relative_im_path`, `class`, `bbox_x1`, `bbox_y1`, `bbox_x2`, `bbox_y2`, `test`; optionally the
/// cell array `class_names`) beside the `car_ims/` folder. Classes 1–98 train, 99–196 test.
public enum Cars196 {
    /// Reads the dataset under `root` (the folder holding `cars_annos.mat` and `car_ims/`).
    public static func load(root: String, options: ImageDatasetOptions = .papers) throws -> Dataset {
        try requireDirectory(root, what: "the CARS196 folder with cars_annos.mat")
        let file = root + "/cars_annos.mat"
        let mat = try MATFile.read(file)
        guard case .structArray(_, let fields, let elements) = try mat.variable("annotations", source: file) else {
            throw DataError(file: file, "'annotations' is not a struct array")
        }
        for needed in ["relative_im_path", "class"] where !fields.contains(needed) {
            throw DataError(file: file, "'annotations' has no field '\(needed)' (fields: \(fields.joined(separator: ", ")))")
        }
        var names = [Int: String]()
        if case .cell(_, let cells)? = mat.variables["class_names"] {
            for (k, cell) in cells.enumerated() { if case .text(_, let s) = cell { names[k + 1] = s } }
        }
        var records = [ImageRecord]()
        for (k, element) in elements.enumerated() {
            guard case .text(_, let relative)? = element["relative_im_path"] else {
                throw DataError(file: file, "annotations(\(k + 1)).relative_im_path is not text")
            }
            guard case .numeric(_, let values)? = element["class"], values.count == 1,
                  let classID = Int(exactly: values[0]) else {
                throw DataError(file: file, "annotations(\(k + 1)).class is not one integer")
            }
            guard (1...196).contains(classID) else {
                throw DataError(file: file, "annotations(\(k + 1)).class is \(classID), outside 1…196")
            }
            records.append(ImageRecord(path: root + "/" + relative, classID: classID))
        }
        return try .images(name: "cars", records: records, trainClasses: Set(1...98),
                           className: { names[$0] ?? String($0) }, options: options)
    }
}
