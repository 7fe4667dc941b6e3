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
        let trainImages = try images(root, "train-images-idx3-ubyte")
        let trainLabels = try labels(root, "train-labels-idx1-ubyte", count: trainImages.count)
        let testImages = try images(root, "t10k-images-idx3-ubyte")
        let testLabels = try labels(root, "t10k-labels-idx1-ubyte", count: testImages.count)
        let (trainIDs, testIDs) = try trainClasses.partition(trainLabels.values + testLabels.values, source: root)
        func split(_ data: (pixels: IDXFile, file: String, count: Int), _ labels: (values: [Int], file: String), keep: Set<Int>) throws -> TensorSplit {
            let rows = labels.values.indices.filter { keep.contains(labels.values[$0]) }
            let h = data.pixels.shape[1], w = data.pixels.shape[2], n = h * w
            let remap = ClassRemapping(ids: rows.map { labels.values[$0] }, name: { $0 < classNames.count ? classNames[$0] : String($0) })
            var features = Matrix<Float>(rows: rows.count, columns: n)
            features.withUnsafeMutableBufferPointer { dst in
                data.pixels.values.withUnsafeBufferPointer { src in
                    for (r, item) in rows.enumerated() {
                        for k in 0..<n { dst[r * n + k] = Float(src[item * n + k]) / 255 }
                    }
                }
            }
            return try TensorSplit(features: features, labels: rows.map { remap.label(of: labels.values[$0]) },
                                   classes: remap.classes, sampleShape: SampleShape(channels: 1, height: h, width: w),
                                   isImageData: true, source: data.file)
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

    private static func images(_ root: String, _ stem: String) throws -> (pixels: IDXFile, file: String, count: Int) {
        let file = try locate(root, stem)
        let idx = try IDXFile.read(file)
        guard idx.shape.count == 3 else { throw DataError(file: file, "expected images N×H×W, found shape \(idx.shape)") }
        return (idx, file, idx.shape[0])
    }

    private static func labels(_ root: String, _ stem: String, count: Int) throws -> (values: [Int], file: String) {
        let file = try locate(root, stem)
        let idx = try IDXFile.read(file)
        guard idx.shape == [count] else {
            throw DataError(file: file, "expected \(count) labels (one per image), found shape \(idx.shape)")
        }
        return (idx.values.map(Int.init), file)
    }
}
