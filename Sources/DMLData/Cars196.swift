/// CARS196 as distributed: `cars_annos.mat` (a MAT v5 file whose struct array `annotations` has
/// `relative_im_path`, `class`, `bbox_x1`, `bbox_y1`, `bbox_x2`, `bbox_y2`, `test`; optionally the
/// cell array `class_names`) beside the `car_ims/` folder. Classes 1–98 train, 99–196 test.
public enum Cars196 {
    /// One image of `cars_annos.mat`: its path relative to the dataset folder and its class (1…196).
    public struct Annotation: Equatable, Sendable {
        /// `relative_im_path`, e.g. `car_ims/000001.jpg`.
        public let relativePath: String
        /// `class`, 1…196.
        public let classID: Int
    }

    /// Reads the dataset under `root` (the folder holding `cars_annos.mat` and `car_ims/`).
    public static func load(root: String, options: ImageDatasetOptions = .papers) throws -> Dataset {
        try requireDirectory(root, what: "the CARS196 folder with cars_annos.mat")
        let file = root + "/cars_annos.mat"
        let (annotations, names) = try annotations(in: try MATFile.read(file), source: file)
        let records = annotations.map { ImageRecord(path: root + "/" + $0.relativePath, classID: $0.classID) }
        return try .images(name: "cars", records: records, trainClasses: Set(1...98),
                           className: { names[$0] ?? String($0) }, options: options)
    }

    /// The annotations and class names (by class id, from `class_names` when present) of a parsed
    /// `cars_annos.mat`; anything missing or of the wrong kind is a `DataError` naming `source`
    /// and the field.
    public static func annotations(in mat: MATFile, source file: String) throws -> ([Annotation], [Int: String]) {
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
        var annotations = [Annotation]()
        annotations.reserveCapacity(elements.count)
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
            annotations.append(Annotation(relativePath: relative, classID: classID))
        }
        return (annotations, names)
    }
}
