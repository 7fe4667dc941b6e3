import Foundation

/// A dataset named on the command line (`--dataset NAME --data-root PATH`), with the options that
/// shape it; `load()` reads it.
public struct DatasetSpec: Equatable, Sendable, Codable {
    /// The supported layouts.
    public enum Kind: String, CaseIterable, Sendable, Codable {
        /// Fashion-MNIST (or any MNIST-family IDX folder); default root Debian's package folder.
        case fashionMNIST = "fashion-mnist"
        /// Omniglot; default root the project's `omniglot-full.tar.zst`.
        case omniglot
        /// CUB-200-2011.
        case cub
        /// CARS196 (`cars_annos.mat`).
        case cars
        /// Stanford Online Products.
        case sop
        /// A folder with one sub-folder per class.
        case folder
        /// `.npy` features and labels.
        case npy
        /// Glyphs of characters rendered from font files (`dml glyphs`): classes are characters,
        /// samples are fonts; default root `FontGlyphDataset.defaultRoot`.
        case fonts
    }

    /// The layout.
    public var kind: Kind
    /// The dataset's folder (or Omniglot archive); nil for the default location.
    public var root: String?
    /// The training classes for layouts without an official split (folder, npy, fashion-mnist);
    /// nil for the default (first half; Fashion-MNIST 0–4).
    public var trainClasses: ClassSplit?
    /// The side of the output images: Omniglot's small size (default 28), or the crop of the
    /// papers' pipeline (default 227, resized from `round(side · 256 / 227)`).
    public var imageSize: Int?
    /// Keep decoded, resized images in memory (default: on for Omniglot, off otherwise).
    public var cacheImages: Bool?
    /// The shorter side the photos of cub, cars, sop and folder are resized to before the crop;
    /// nil for the papers' ratio, `round(side · 256 / 227)`.
    public var resizeSide: Int?
    /// The per-channel normalization of those photos (the network's own input normalization);
    /// nil for ImageNet's mean and standard deviation.
    public var normalization: Normalization?

    /// A spec of the given layout and options.
    public init(kind: Kind, root: String? = nil, trainClasses: ClassSplit? = nil, imageSize: Int? = nil, cacheImages: Bool? = nil,
                resizeSide: Int? = nil, normalization: Normalization? = nil) {
        self.kind = kind
        self.root = root
        self.trainClasses = trainClasses
        self.imageSize = imageSize
        self.cacheImages = cacheImages
        self.resizeSide = resizeSide
        self.normalization = normalization
    }

    /// Parses a name (`fashion-mnist`, `omniglot`, `cub`, `cars`, `sop`, `folder`, `npy`, `fonts`;
    /// also `cub200`, `cars196`, `stanford-online-products`, `mnist`, `font-glyphs`) and a root.
    public init(name: String, root: String? = nil) throws {
        let aliases: [String: Kind] = ["cub200": .cub, "cub-200-2011": .cub, "cars196": .cars, "stanford-online-products": .sop,
                                       "mnist": .fashionMNIST, "idx": .fashionMNIST, "fashionmnist": .fashionMNIST,
                                       "image-folder": .folder, "features": .npy, "font-glyphs": .fonts, "glyphs": .fonts]
        let key = name.lowercased()
        guard let kind = Kind(rawValue: key) ?? aliases[key] else {
            throw DataError(file: "--dataset", "unknown dataset '\(name)'; expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(kind: kind, root: root)
    }

    /// The places searched for Omniglot when no root is given: `$DML_OMNIGLOT`, then
    /// `../shared/data/omniglot-full.tar.zst` and `shared/data/omniglot-full.tar.zst` from the
    /// current directory.
    public static var omniglotCandidates: [String] {
        var c = ["../shared/data/omniglot-full.tar.zst", "shared/data/omniglot-full.tar.zst"]
        if let env = ProcessInfo.processInfo.environment["DML_OMNIGLOT"], !env.isEmpty { c.insert(env, at: 0) }
        return c
    }

    /// The root that `load()` reads.
    public func resolvedRoot() throws -> String {
        if let root { return root }
        switch kind {
        case .fashionMNIST: return IDXDataset.debianFashionMNIST
        case .fonts: return FontGlyphDataset.defaultRoot
        case .omniglot:
            if let found = Self.omniglotCandidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
            throw DataError(file: Self.omniglotCandidates.joined(separator: ", "), "Omniglot not found; pass --data-root with its folder or archive")
        case .cub, .cars, .sop, .folder, .npy:
            throw DataError(file: "--data-root", "the \(kind.rawValue) dataset needs --data-root (its folder)")
        }
    }

    /// The image options the spec implies (nil for feature layouts).
    public func imageOptions() throws -> ImageDatasetOptions? {
        switch kind {
        case .fashionMNIST, .npy: return nil
        case .fonts:
            if let imageSize {
                throw DataError(file: "--image-size", "\(imageSize): the font glyphs keep the size they were rendered at (dml glyphs --size)")
            }
            return nil
        case .omniglot:
            var o = try ImageDatasetOptions.smallImages(size: imageSize ?? 28)
            if let cacheImages { o.cacheImages = cacheImages }
            return o
        case .cub, .cars, .sop, .folder:
            // The papers' pipelines (256 → random 227 crop + flip; test: centre crop), scaled to `side`.
            let side = imageSize ?? 227
            let resize = resizeSide ?? Int((Double(side) * 256 / 227).rounded())
            let normalization = self.normalization ?? .imageNet
            guard side > 0, resize >= side else {
                throw DataError(file: "--image-size", "the crop \(side) must be positive and no larger than the resized shorter side \(resize)")
            }
            var o = ImageDatasetOptions.papers
            o.trainPipeline = try AugmentationPipeline(channels: 3, resize: .shorterSide(resize), crop: .random(width: side, height: side),
                                                       horizontalFlip: true, normalization: normalization)
            o.testPipeline = try AugmentationPipeline(channels: 3, resize: .shorterSide(resize), crop: .center(width: side, height: side),
                                                      normalization: normalization)
            o.cacheImages = cacheImages ?? false
            return o
        }
    }

    /// Reads the dataset.
    public func load() throws -> Dataset {
        let root = try resolvedRoot()
        let options = try imageOptions()
        switch kind {
        case .fashionMNIST: return try IDXDataset.load(root: root, trainClasses: trainClasses ?? .range(0...4))
        case .omniglot: return try Omniglot.load(root: root, options: options)
        case .cub: return try CUB200.load(root: root, options: options!)
        case .cars: return try Cars196.load(root: root, options: options!)
        case .sop: return try StanfordOnlineProducts.load(root: root, options: options!)
        case .folder: return try ImageFolderDataset.load(root: root, split: trainClasses ?? .firstHalf, options: options!)
        case .npy: return try NPYFeatureDataset.load(root: root, split: trainClasses ?? .firstHalf)
        case .fonts: return try FontGlyphDataset.load(root: root, trainClasses: trainClasses)
        }
    }
}
