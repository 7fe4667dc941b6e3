import Foundation

/// Image files with their original class ids: the common form every image dataset layout is read
/// into before being split by class.
struct ImageRecord {
    let path: String
    let classID: Int
}

/// Options every image dataset shares.
public struct ImageDatasetOptions: Equatable, Sendable, Codable {
    /// The pipeline of training batches.
    public var trainPipeline: AugmentationPipeline
    /// The pipeline of test batches (and evaluation of the training split).
    public var testPipeline: AugmentationPipeline
    /// Keep decoded, resized images in memory.
    public var cacheImages: Bool

    /// Options with the given pipelines.
    public init(trainPipeline: AugmentationPipeline, testPipeline: AugmentationPipeline, cacheImages: Bool = false) {
        self.trainPipeline = trainPipeline
        self.testPipeline = testPipeline
        self.cacheImages = cacheImages
    }

    /// The papers' pipelines (resize 256, random/centre 227 crop, flip in training), RGB.
    public static let papers = ImageDatasetOptions(trainPipeline: .papersTrain, testPipeline: .papersTest)

    /// Small gray images resized to `size × size` (Omniglot), cached (they are small).
    public static func smallImages(size: Int) throws -> ImageDatasetOptions {
        let p = try AugmentationPipeline.smallImages(size: size)
        return ImageDatasetOptions(trainPipeline: p, testPipeline: p, cacheImages: true)
    }
}

extension Dataset {
    /// A dataset of image `records` whose class ids in `trainClasses` form the training split and
    /// the others the test split.
    static func images(name: String, records: [ImageRecord], trainClasses: Set<Int>, className: (Int) -> String,
                       options: ImageDatasetOptions) throws -> Dataset {
        func split(_ keep: (Int) -> Bool) throws -> ImageFileSplit {
            let chosen = records.filter { keep($0.classID) }
            let remap = ClassRemapping(ids: chosen.map(\.classID), name: className)
            return try ImageFileSplit(
                items: chosen.map { ImageFileSplit.Item(path: $0.path, label: remap.label(of: $0.classID)) },
                classes: remap.classes, trainPipeline: options.trainPipeline, testPipeline: options.testPipeline,
                cacheImages: options.cacheImages)
        }
        return Dataset(name: name, train: try split { trainClasses.contains($0) },
                       test: try split { !trainClasses.contains($0) })
    }
}

/// Line-oriented text files with errors that name the file and line.
enum TextTable {
    /// The non-empty lines of `path` split on whitespace (or on `separator`), with 1-based line
    /// numbers; `skipHeader` drops the first line.
    static func rows(_ path: String, separator: Character? = nil, skipHeader: Bool = false) throws -> [(line: Int, fields: [String])] {
        let text = try FileBytes.text(path)
        var out = [(line: Int, fields: [String])]()
        for (k, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if skipHeader && k == 0 { continue }
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = separator.map { s in line.split(separator: s, omittingEmptySubsequences: false).map(String.init) }
                ?? line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            out.append((k + 1, fields))
        }
        return out
    }

    /// Field `index` of a row as an integer, or a `DataError` naming the file, line and column.
    static func integer(_ row: (line: Int, fields: [String]), _ index: Int, name: String, file: String) throws -> Int {
        guard index < row.fields.count else {
            throw DataError(file: file, line: row.line, "expected at least \(index + 1) fields, found \(row.fields.count)")
        }
        guard let v = Int(row.fields[index]) else {
            throw DataError(file: file, line: row.line, "\(name) '\(row.fields[index])' is not an integer")
        }
        return v
    }

    /// Field `index` of a row, or a `DataError` naming the file and line.
    static func field(_ row: (line: Int, fields: [String]), _ index: Int, file: String) throws -> String {
        guard index < row.fields.count else {
            throw DataError(file: file, line: row.line, "expected at least \(index + 1) fields, found \(row.fields.count)")
        }
        return row.fields[index]
    }
}

/// Checks that a dataset directory exists.
func requireDirectory(_ path: String, what: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw DataError(file: path, "no such directory (expected \(what))")
    }
}
