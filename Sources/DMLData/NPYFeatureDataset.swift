import DMLNumerics
import Foundation

/// Precomputed features from any backbone as `.npy` files: `features.npy` (float32/float64, N × d)
/// and `labels.npy` (integers, N) in one folder, split by class with a `ClassSplit`; or the
/// already-split `train_features.npy`, `train_labels.npy`, `test_features.npy`, `test_labels.npy`.
/// Samples have shape `[d, 1, 1]`.
public enum NPYFeatureDataset {
    /// Reads the features under `root`.
    public static func load(root: String, split: ClassSplit = .firstHalf) throws -> Dataset {
        try requireDirectory(root, what: "a folder with features.npy and labels.npy")
        let fm = FileManager.default
        if fm.fileExists(atPath: root + "/train_features.npy") {
            let (trainX, trainY) = try pair(root, "train_features.npy", "train_labels.npy")
            let (testX, testY) = try pair(root, "test_features.npy", "test_labels.npy")
            guard trainX.columns == testX.columns else {
                throw DataError(file: root + "/test_features.npy", "\(testX.columns) features per row, the training file has \(trainX.columns)")
            }
            if let shared = Set(trainY).intersection(testY).min() {
                throw DataError(file: root + "/test_labels.npy", "class \(shared) is also a training class; the splits must be class-disjoint")
            }
            return Dataset(name: "npy", train: try tensorSplit(trainX, trainY, rows: Array(trainY.indices), source: root + "/train_features.npy"),
                           test: try tensorSplit(testX, testY, rows: Array(testY.indices), source: root + "/test_features.npy"))
        }
        let (x, y) = try pair(root, "features.npy", "labels.npy")
        let (train, test) = try split.partition(y, source: root + "/labels.npy")
        return Dataset(name: "npy",
                       train: try tensorSplit(x, y, rows: y.indices.filter { train.contains(y[$0]) }, source: root + "/features.npy"),
                       test: try tensorSplit(x, y, rows: y.indices.filter { test.contains(y[$0]) }, source: root + "/features.npy"))
    }

    private static func pair(_ root: String, _ featuresName: String, _ labelsName: String) throws -> (Matrix<Float>, [Int]) {
        let fPath = root + "/" + featuresName, lPath = root + "/" + labelsName
        let x: Matrix<Float>
        let y: [Int]
        do {
            x = try NPYArray.read(from: fPath).matrix(as: Float.self, source: fPath)
            y = try NPYArray.read(from: lPath).labels(source: lPath)
        } catch let e as NPYError {
            throw DataError(file: e.source, e.reason)
        }
        guard x.columns >= 1 else { throw DataError(file: fPath, "the features have 0 columns; expected N × d with d ≥ 1") }
        guard x.rows >= 1 else { throw DataError(file: fPath, "the file holds no rows; expected N × d features with N ≥ 1") }
        guard x.rows == y.count else { throw DataError(file: lPath, "\(y.count) labels for \(x.rows) feature rows in \(featuresName)") }
        if let k = y.firstIndex(where: { $0 < 0 }) { throw DataError(file: lPath, "label \(y[k]) of item \(k) is negative") }
        if let bad = x.firstNonFinite { throw DataError(file: fPath, "value at row \(bad.row), column \(bad.column) is not finite") }
        return (x, y)
    }

    private static func tensorSplit(_ x: Matrix<Float>, _ y: [Int], rows: [Int], source: String) throws -> TensorSplit {
        let remap = ClassRemapping(ids: rows.map { y[$0] }, name: { String($0) })
        return try TensorSplit(features: x.gatheringRows(rows), labels: rows.map { remap.label(of: y[$0]) },
                               classes: remap.classes, sampleShape: SampleShape(channels: x.columns, height: 1, width: 1),
                               isImageData: false, source: source)
    }
}
