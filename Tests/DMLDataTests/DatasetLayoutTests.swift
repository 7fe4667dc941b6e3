import DMLNumerics
import Foundation
import Testing
@testable import DMLData

@Suite("Dataset layouts")
struct DatasetLayoutTests {
    static let tiny = try! ImageDatasetOptions(
        trainPipeline: AugmentationPipeline(channels: 3, resize: .shorterSide(8), crop: .random(width: 6, height: 6), horizontalFlip: true),
        testPipeline: AugmentationPipeline(channels: 3, resize: .shorterSide(8), crop: .center(width: 6, height: 6)))

    @Test func cubSplitsByClassAndRemapsLabels() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let root = try DatasetFixtures.cub(in: dir, classIDs: [1, 7, 100, 101, 150, 200])
        let cub = try CUB200.load(root: root, options: Self.tiny)
        #expect(cub.train.count == 6 && cub.test.count == 6)
        #expect(cub.train.classes.map(\.originalID) == [1, 7, 100])
        #expect(cub.test.classes.map(\.originalID) == [101, 150, 200])
        #expect(cub.test.classes[0].name == "101.Bird_101")
        #expect(cub.train.labels == [0, 0, 1, 1, 2, 2])
        #expect(cub.test.labels == [0, 0, 1, 1, 2, 2])
        let batch = try cub.test.batch([0, 5], mode: .test)
        #expect(batch.rows == 2 && batch.columns == 3 * 36)
        #expect(cub.test.sampleShape.dimensions == [3, 6, 6])
    }

    @Test func cubBadInputs() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let root = try DatasetFixtures.cub(in: dir, classIDs: [1, 101])
        try dir.write("1 1\n2 x\n", to: "CUB_200_2011/image_class_labels.txt")
        let e = #expect(throws: DataError.self) { try CUB200.load(root: root, options: Self.tiny) }
        #expect(e?.file.hasSuffix("image_class_labels.txt") == true && e?.line == 2)
        try dir.write("1 1\n2 201\n", to: "CUB_200_2011/image_class_labels.txt")
        let range = #expect(throws: DataError.self) { try CUB200.load(root: root, options: Self.tiny) }
        #expect(range?.line == 2 && range?.reason.contains("201") == true)
        try dir.write("1 1\n9 101\n", to: "CUB_200_2011/image_class_labels.txt")
        #expect(throws: DataError.self) { try CUB200.load(root: root, options: Self.tiny) }
        try FileManager.default.removeItem(atPath: root + "/images.txt")
        let missing = #expect(throws: DataError.self) { try CUB200.load(root: root, options: Self.tiny) }
        #expect(missing?.file.hasSuffix("images.txt") == true)
        #expect(throws: DataError.self) { try CUB200.load(root: dir.path + "/nowhere", options: Self.tiny) }
    }

    @Test func carsFromCompressedAndPlainMAT() throws {
        for compressed in [true, false] {
            let dir = try TemporaryDirectory(); defer { dir.remove() }
            let root = try DatasetFixtures.cars(in: dir, compressed: compressed)
            let cars = try Cars196.load(root: root, options: Self.tiny)
            #expect(cars.train.classes.map(\.originalID) == [1, 98])
            #expect(cars.test.classes.map(\.originalID) == [99, 196])
            #expect(cars.test.classes[1].name == "Car model 196")
            #expect((cars.test as? ImageFileSplit)?.items[0].path == root + "/car_ims/000003.jpg")
            #expect(try cars.train.batch([0, 1], mode: .train, seed: 3).isFinite)
        }
    }

    @Test func carsBadInputs() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let root = try DatasetFixtures.cars(in: dir, classes: [1, 197])
        let e = #expect(throws: DataError.self) { try Cars196.load(root: root, options: Self.tiny) }
        #expect(e?.reason.contains("197") == true)
        try dir.write(Data("not a mat file".utf8), to: "cars/cars_annos.mat")
        #expect(throws: DataError.self) { try Cars196.load(root: root, options: Self.tiny) }
        try FileManager.default.removeItem(atPath: root + "/cars_annos.mat")
        let m = #expect(throws: DataError.self) { try Cars196.load(root: root, options: Self.tiny) }
        #expect(m?.file.hasSuffix("cars_annos.mat") == true)
    }

    @Test func sopAndItsBadLines() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let root = try DatasetFixtures.sop(in: dir)
        let sop = try StanfordOnlineProducts.load(root: root, options: Self.tiny)
        #expect(sop.train.classes.map(\.originalID) == [1, 2] && sop.test.classes.map(\.originalID) == [3, 4])
        #expect(sop.test.labels == [0, 0, 1, 1])
        try dir.write("image_id class_id super_class_id path\n1 3 1 bicycle_final/3_0.JPG\n2 4 1\n", to: "Stanford_Online_Products/Ebay_test.txt")
        let e = #expect(throws: DataError.self) { try StanfordOnlineProducts.load(root: root, options: Self.tiny) }
        #expect(e?.file.hasSuffix("Ebay_test.txt") == true && e?.line == 3)
        try dir.write("image_id class_id super_class_id path\n1 2 1 bicycle_final/3_0.JPG\n", to: "Stanford_Online_Products/Ebay_test.txt")
        #expect(throws: DataError.self) { try StanfordOnlineProducts.load(root: root, options: Self.tiny) }
    }

    @Test func imageFolderWithClassSplit() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        for (k, name) in ["cat", "dog", "eel", "fox"].enumerated() {
            try dir.write(try DatasetFixtures.image(k), to: "pets/\(name)/a.png")
            try dir.write(try DatasetFixtures.image(k + 10, jpeg: true), to: "pets/\(name)/b.JPG")
            try dir.write("notes", to: "pets/\(name)/readme.txt")
        }
        let half = try ImageFolderDataset.load(root: dir.path + "/pets", options: Self.tiny)
        #expect(half.train.classes.map(\.name) == ["cat", "dog"] && half.test.classes.map(\.name) == ["eel", "fox"])
        #expect(half.train.count == 4)
        let listed = try ImageFolderDataset.load(root: dir.path + "/pets", split: try .parse("0,3"), options: Self.tiny)
        #expect(listed.test.classes.map(\.name) == ["dog", "eel"])
        #expect(throws: DataError.self) { try ImageFolderDataset.load(root: dir.path + "/pets", split: .range(0...9), options: Self.tiny) }
        // A corrupt image is reported when it is read, naming the file.
        try dir.write(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2]), to: "pets/cat/a.png")
        let e = #expect(throws: DataError.self) { try half.train.batch([0], mode: .test) }
        #expect(e?.file.hasSuffix("pets/cat/a.png") == true)
    }

    @Test func omniglotFromFolderAndArchive() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let folder = try DatasetFixtures.omniglot(in: dir)
        let fromFolder = try Omniglot.load(root: folder)
        #expect(fromFolder.train.classes.count == 4 && fromFolder.test.classes.count == 2)
        #expect(fromFolder.train.classes[2].name == "Beta/character01")
        #expect(fromFolder.train.count == 12 && fromFolder.test.count == 6)
        #expect(fromFolder.test.sampleShape.dimensions == [1, 28, 28])
        // The same folder as a .tar.zst archive, extracted once into a cache directory.
        let archive = dir.path + "/omni.tar.zst"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "--zstd", "-cf", archive, "-C", folder, "images_background", "images_evaluation"]
        try tar.run(); tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        let cache = dir.path + "/cache"
        let fromArchive = try Omniglot.load(root: archive, cacheDirectory: cache)
        #expect(fromArchive.test.labels == fromFolder.test.labels)
        #expect(try fromArchive.test.batch([0, 5], mode: .test) == fromFolder.test.batch([0, 5], mode: .test))
        let extracted = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(extracted.count == 1)
        _ = try Omniglot.load(root: archive, cacheDirectory: cache)  // reuses the extraction
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache) == extracted)
        try dir.write("not a tar", to: "broken.tar.zst")
        #expect(throws: DataError.self) { try Omniglot.load(root: dir.path + "/broken.tar.zst", cacheDirectory: cache) }
    }

    @Test func idxFamilyGzipAndPlain() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        // 6 training and 4 test 2×3 images with labels 0…3; image k has all pixels = 10·k.
        let trainLabels: [UInt8] = [0, 1, 2, 3, 0, 2], testLabels: [UInt8] = [3, 1, 2, 0]
        func images(_ n: Int, offset: Int) -> Data {
            DatasetFixtures.idx(shape: [n, 2, 3], values: (0..<n).flatMap { k in Array(repeating: UInt8(10 * (k + offset)), count: 6) })
        }
        try dir.write(try DatasetFixtures.gzip(images(6, offset: 0), in: dir), to: "f/train-images-idx3-ubyte.gz")
        try dir.write(try DatasetFixtures.gzip(DatasetFixtures.idx(shape: [6], values: trainLabels), in: dir), to: "f/train-labels-idx1-ubyte.gz")
        try dir.write(images(4, offset: 6), to: "f/t10k-images-idx3-ubyte")
        try dir.write(DatasetFixtures.idx(shape: [4], values: testLabels), to: "f/t10k-labels-idx1-ubyte")
        let data = try IDXDataset.load(root: dir.path + "/f", trainClasses: .range(0...1))
        #expect(data.train.count == 3 && data.test.count == 2)  // train file items of classes 0,1; test file items of 2,3
        #expect(data.test.classes.map(\.originalID) == [2, 3] && data.test.classes[1].name == "Dress")
        #expect(data.train.sampleShape.dimensions == [1, 2, 3])
        let rows = try data.test.batch([0, 1], mode: .test)
        #expect(rows.row(0) == Array(repeating: Float(60) / 255, count: 6))
        #expect(rows.row(1) == Array(repeating: Float(80) / 255, count: 6))
        #expect(data.test.labels == [1, 0])
        let thumbs = try data.test.thumbnails()
        #expect(thumbs?.shape == [2, 2, 3, 1])
        #expect(thumbs?.values == .uint8(Array(repeating: 60, count: 6) + Array(repeating: 80, count: 6)))
        // Bad inputs: a label count mismatch, a truncated gzip, a missing file.
        try dir.write(DatasetFixtures.idx(shape: [3], values: [1, 2, 3]), to: "f/t10k-labels-idx1-ubyte")
        #expect(throws: DataError.self) { try IDXDataset.load(root: dir.path + "/f") }
        let gz = try DatasetFixtures.gzip(images(6, offset: 0), in: dir)
        try dir.write(gz.prefix(gz.count - 12), to: "f/train-images-idx3-ubyte.gz")
        let t = #expect(throws: DataError.self) { try IDXDataset.load(root: dir.path + "/f") }
        #expect(t?.file.hasSuffix("train-images-idx3-ubyte.gz") == true)
        try FileManager.default.removeItem(atPath: dir.path + "/f/t10k-images-idx3-ubyte")
        try dir.write(images(4, offset: 6), to: "f/t10k-images-idx3-ubyte-broken")
        #expect(throws: DataError.self) { try IDXFile(data: Data([0, 0, 8, 1, 0, 0, 0, 5, 1]), source: "short.idx") }
    }

    @Test("Debian's Fashion-MNIST loads with the default split (skipped when dataset-fashion-mnist is not installed)",
          .enabled(if: FileManager.default.fileExists(atPath: IDXDataset.debianFashionMNIST + "/t10k-labels-idx1-ubyte.gz"),
                   "dataset-fashion-mnist is not installed"))
    func debianFashionMNISTIfInstalled() throws {
        let data = try DatasetSpec(name: "fashion-mnist").load()
        #expect(data.train.count == 30_000 && data.test.count == 5_000)
        #expect(data.train.classes.map(\.originalID) == [0, 1, 2, 3, 4])
        #expect(data.test.classes.map(\.name) == ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])
        #expect(data.test.sampleShape.dimensions == [1, 28, 28])
    }

    @Test func npyFeaturesSplitByClass() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let x = Matrix<Float>(rows: 6, columns: 2) { i, j in Float(i * 10 + j) }
        try NPYArray(x).write(to: dir.path + "/features.npy")
        try NPYArray(labels: [5, 7, 9, 5, 11, 7]).write(to: dir.path + "/labels.npy")
        let data = try NPYFeatureDataset.load(root: dir.path, split: .list([5, 11]))
        #expect(data.train.classes.map(\.originalID) == [5, 11] && data.test.classes.map(\.originalID) == [7, 9])
        #expect(try data.train.batch([0, 1, 2], mode: .train) == Matrix([[0, 1], [30, 31], [40, 41]]))
        #expect(data.train.labels == [0, 0, 1])
        #expect(data.test.sampleShape.dimensions == [2, 1, 1] && !data.test.isImageData)
        #expect(try data.test.thumbnails() == nil)
        try NPYArray(labels: [5, 7, 9]).write(to: dir.path + "/labels.npy")
        let e = #expect(throws: DataError.self) { try NPYFeatureDataset.load(root: dir.path) }
        #expect(e?.file.hasSuffix("labels.npy") == true)
        try NPYArray(labels: [5, 7, 9, 5, -1, 7]).write(to: dir.path + "/labels.npy")
        #expect(throws: DataError.self) { try NPYFeatureDataset.load(root: dir.path) }
        try FileManager.default.removeItem(atPath: dir.path + "/features.npy")
        #expect(throws: DataError.self) { try NPYFeatureDataset.load(root: dir.path) }
    }

    @Test func specParsing() throws {
        #expect(try DatasetSpec(name: "CUB", root: "/x").kind == .cub)
        #expect(try DatasetSpec(name: "cars196").kind == .cars)
        #expect(try DatasetSpec(name: "fashion-mnist").resolvedRoot() == IDXDataset.debianFashionMNIST)
        #expect(throws: DataError.self) { try DatasetSpec(name: "imagenet") }
        #expect(throws: DataError.self) { try DatasetSpec(name: "sop").resolvedRoot() }
        #expect(try ClassSplit.parse("0-4") == .range(0...4))
        #expect(try ClassSplit.parse("1, 3,5") == .list([1, 3, 5]))
        #expect(throws: DataError.self) { try ClassSplit.parse("4-0") }
        #expect(throws: DataError.self) { try ClassSplit.parse("a,b") }
        var spec = DatasetSpec(kind: .cub, imageSize: 64)
        #expect(try spec.imageOptions()?.trainPipeline.outputShape.dimensions == [3, 64, 64])
        spec.kind = .omniglot
        #expect(try spec.imageOptions()?.testPipeline.outputShape.dimensions == [1, 64, 64])
    }

    @Test func thumbnailsOfImageFiles() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let root = try DatasetFixtures.sop(in: dir)
        let sop = try StanfordOnlineProducts.load(root: root, options: Self.tiny)
        let thumbs = try #require(try sop.test.thumbnails(size: 8))
        #expect(thumbs.shape == [4, 8, 8, 3] && thumbs.dtype == .uint8)
    }
}
