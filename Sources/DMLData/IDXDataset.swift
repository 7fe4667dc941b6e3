import DMLNumerics
import Foundation

/// The MNIST family (Fashion-MNIST, MNIST, KMNIST) from its four IDX files, gzip-compressed or not:
/// `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`,
/// `t10k-labels-idx1-ubyte[.gz]`. Pixels are scaled to [0, 1]; samples have shape `[1, 28, 28]`.
///
/// Class-disjoint protocol: the training split is the training file's items of the training
/// classes (default 0–4), the test split the t10k file's items of the other classes (5–9).
public enum IDXDataset {
    /// The folder Debian's `dataset-fashion-mnist` package installs.
    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"
    /// Fashion-MNIST's class names, by id.
    public static let fashionMNISTClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Reads the four files from `root`; `trainClasses` choose the training classes (default 0–4).
    public static func load(root: String = debianFashionMNIST, trainClasses: ClassSplit = .range(0...4),
                            classNames: [String] = fashionMNISTClassNames, name: String = "fashion-mnist") throws -> Dataset {
        if root == debianFashionMNIST && !FileManager.default.fileExists(atPath: root) {
            throw DataError(file: root, "no such directory: install the Debian package dataset-fashion-mnist (sudo apt-get install dataset-fashion-mnist) or pass --data-root with a folder of the four IDX files")
        }
        try requireDirectory(root, what: "the four IDX files (train-images-idx3-ubyte.gz, …)")
        func part(_ stem: String) throws -> Part {
            let file = try locate(root, stem)
            return Part(idx: try IDXFile.read(file), source: file)
        }
        return try dataset(trainImages: part("train-images-idx3-ubyte"), trainLabels: part("train-labels-idx1-ubyte"),
                           testImages: part("t10k-images-idx3-ubyte"), testLabels: part("t10k-labels-idx1-ubyte"),
                           trainClasses: trainClasses, classNames: classNames, name: name)
    }

    /// One parsed IDX file and the path that names it in errors.
    public struct Part: Sendable {
        /// The parsed file.
        public let idx: IDXFile
        /// Its path (or any name for errors).
        public let source: String

        /// A parsed file named `source`.
        public init(idx: IDXFile, source: String) {
            self.idx = idx
            self.source = source
        }
    }

    /// The dataset of four parsed IDX files: images N×H×W with H, W ≥ 1 and the same H×W in
    /// both files, labels of shape [N] beside them. Anything else is a `DataError` naming the file.
    public static func dataset(trainImages: Part, trainLabels: Part, testImages: Part, testLabels: Part,
                               trainClasses: ClassSplit = .range(0...4), classNames: [String] = fashionMNISTClassNames,
                               name: String = "fashion-mnist") throws -> Dataset {
        try checkImages(trainImages)
        try checkImages(testImages)
        guard testImages.idx.shape[1...] == trainImages.idx.shape[1...] else {
            throw DataError(file: testImages.source, "images of \(testImages.idx.shape[1])×\(testImages.idx.shape[2]) pixels, expected the training images' \(trainImages.idx.shape[1])×\(trainImages.idx.shape[2])")
        }
        let trainLabels = try labels(trainLabels, count: trainImages.idx.shape[0])
        let testLabels = try labels(testLabels, count: testImages.idx.shape[0])
        let (trainIDs, testIDs) = try trainClasses.partition(trainLabels.values + testLabels.values, source: trainLabels.file)
        func split(_ data: Part, _ labels: (values: [Int], file: String), keep: Set<Int>) throws -> TensorSplit {
            let rows = labels.values.indices.filter { keep.contains(labels.values[$0]) }
            let h = data.idx.shape[1], w = data.idx.shape[2], n = h * w
            let remap = ClassRemapping(ids: rows.map { labels.values[$0] }, name: { $0 < classNames.count ? classNames[$0] : String($0) })
            var features = Matrix<Float>(rows: rows.count, columns: n)
            features.withUnsafeMutableBufferPointer { dst in
                data.idx.values.withUnsafeBufferPointer { src in
                    for (r, item) in rows.enumerated() {
                        for k in 0..<n { dst[r * n + k] = Float(src[item * n + k]) / 255 }
                    }
                }
            }
            return try TensorSplit(features: features, labels: rows.map { remap.label(of: labels.values[$0]) },
                                   classes: remap.classes, sampleShape: SampleShape(channels: 1, height: h, width: w),
                                   isImageData: true, source: data.source)
        }
        return Dataset(name: name, train: try split(trainImages, trainLabels, keep: trainIDs),
                       test: try split(testImages, testLabels, keep: testIDs))
    }

    /// The path of `stem` or `stem.gz` in `root`.
    static func locate(_ root: String, _ stem: String) throws -> String {
        for candidate in [stem + ".gz", stem, stem.replacingOccurrences(of: "-idx", with: ".idx")] {
            if FileManager.default.fileExists(atPath: root + "/" + candidate) { return root + "/" + candidate }
        }
        throw DataError(file: root + "/" + stem + ".gz", "no such file (nor \(stem) uncompressed)")
    }

    private static func checkImages(_ part: Part) throws {
        let shape = part.idx.shape
        guard shape.count == 3 else { throw DataError(file: part.source, "expected images N×H×W, found shape \(shape)") }
        guard shape[1] >= 1, shape[2] >= 1 else {
            throw DataError(file: part.source, "images of \(shape[1])×\(shape[2]) pixels, expected at least 1×1")
        }
    }

    private static func labels(_ part: Part, count: Int) throws -> (values: [Int], file: String) {
        guard part.idx.shape == [count] else {
            throw DataError(file: part.source, "expected \(count) labels (one per image), found shape \(part.idx.shape)")
        }
        return (part.idx.values.map(Int.init), part.source)
    }
}
