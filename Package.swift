// swift-tools-version:6.0
import PackageDescription

/// SwiftMetricLearning: deep metric learning in Swift.
///
/// Modules, with one-way dependencies:
///   CBLAS, CImageCodecs,  system libraries (OpenBLAS; libjpeg-turbo, libpng, zlib; Open MPI;
///   CMPI, CFreeType       FreeType for rendering font glyphs)
///   CVectorMath           vectorized exp over buffers (glibc's libmvec; scalar libm elsewhere)
///   DMLNumerics           matrices over contiguous storage, BLAS, stable helpers, RNG, .npy
///   MetricLearning        distances, losses, synthesis (EE, Symm), hard negative pair mining
///   DMLDistributed        the communicator: one process, or MPI ranks (all-gather, all-reduce)
///   DMLWeights            tensors of weight files: safetensors, PyTorch checkpoints (zip and legacy)
///   DMLNetworks           layers, initialization, optimizers, schedules, tensor archives
///   DMLBackbones          ImageNet backbones (EfficientNet-Lite0, ResNet-18/50, GoogLeNet) with
///                         PyTorch names, their weights and input normalization, embedding heads
///   DMLEvaluation         nearest neighbours, Recall@K, MAP@R, k-means, NMI, F1
///   DMLData               IDX, .npy features, image decoding and PNG encoding, datasets,
///                         augmentation, loader
///   DMLRunDirectory       the run directory's format: config.json, log.jsonl records, metrics.json,
///                         embeddings, the lock; its one writer and its one reader
///   DMLTraining           sampler, trainer, checkpoints
///   DMLReport             HTML/SVG run reports and experiment summaries
///   SwiftMetricLearning   umbrella module re-exporting the above
///   DMLBenchmarks         the benchmarks behind `dml bench` (clocks, GEMM profiler, /proc memory);
///                         only the command-line tool depends on it, the umbrella does not
///   DMLCommands, dml      the command-line tool
let package = Package(
    name: "SwiftMetricLearning",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SwiftMetricLearning", targets: ["SwiftMetricLearning"]),
        .executable(name: "dml", targets: ["dml"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Documentation only: `swift package generate-documentation --target <module>` builds a
        // module's DocC catalog. A command plugin, so `swift build` and `swift test` build nothing
        // of it (it and swift-docc-symbolkit are only fetched when the package is resolved).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .systemLibrary(
            name: "CFreeType",
            pkgConfig: "freetype2",
            providers: [.apt(["libfreetype-dev"])]
        ),
        .systemLibrary(
            name: "CImageCodecs",
            providers: [.apt(["libturbojpeg0-dev", "libpng-dev", "zlib1g-dev"])]
        ),
        // Vectorized exp over buffers: glibc's libmvec on x86-64 Linux, scalar libm elsewhere.
        .target(
            name: "CVectorMath",
            linkerSettings: [.linkedLibrary("mvec", .when(platforms: [.linux]))]
        ),
        .target(
            name: "DMLNumerics",
            dependencies: ["CBLAS", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "MetricLearning", dependencies: ["DMLNumerics", "CVectorMath"]),
        .target(name: "DMLWeights", dependencies: ["DMLNumerics"]),
        .target(name: "DMLDistributed", dependencies: ["DMLNumerics", "CMPI"]),
        .target(
            name: "DMLNetworks",
            dependencies: ["DMLNumerics", "DMLWeights", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(
            name: "DMLEvaluation",
            dependencies: ["DMLNumerics", .product(name: "RealModule", package: "swift-numerics")]
        ),
        .target(name: "DMLData", dependencies: ["DMLNumerics", "CImageCodecs", "CFreeType"]),
        .target(name: "DMLBackbones", dependencies: ["DMLNumerics", "DMLNetworks", "DMLWeights", "DMLData"]),
        .target(name: "DMLRunDirectory", dependencies: ["DMLNumerics"]),
        .target(
            name: "DMLTraining",
            dependencies: ["DMLNumerics", "MetricLearning", "DMLNetworks", "DMLBackbones", "DMLEvaluation", "DMLData",
                           "DMLDistributed", "DMLRunDirectory"]
        ),
        .target(name: "DMLReport", dependencies: ["DMLNumerics", "DMLEvaluation", "DMLData", "DMLRunDirectory"]),
        .target(
            name: "SwiftMetricLearning",
            dependencies: [
                "DMLNumerics", "MetricLearning", "DMLWeights", "DMLDistributed", "DMLNetworks", "DMLBackbones", "DMLEvaluation",
                "DMLData", "DMLRunDirectory", "DMLTraining", "DMLReport",
            ]
        ),
        .target(
            name: "DMLBenchmarks",
            dependencies: ["DMLNumerics", "DMLNetworks", "DMLEvaluation", "DMLData"]
        ),
        .target(
            name: "DMLCommands",
            dependencies: [
                "SwiftMetricLearning",
                "DMLBenchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "dml", dependencies: ["DMLCommands"]),

        .target(
            name: "DMLTestSupport",
            dependencies: ["DMLNumerics", .product(name: "RealModule", package: "swift-numerics")],
            path: "Tests/DMLTestSupport"
        ),
        .testTarget(name: "DMLDistributedTests", dependencies: ["DMLDistributed", "DMLTraining", "DMLRunDirectory", "DMLTestSupport"]),
        .testTarget(name: "DMLNumericsTests", dependencies: ["DMLNumerics", "DMLTestSupport"]),
        .testTarget(name: "MetricLearningTests", dependencies: ["MetricLearning", "DMLTestSupport"]),
        .testTarget(name: "DMLNetworksTests", dependencies: ["DMLNetworks", "DMLNumerics", "DMLTestSupport"]),
        .testTarget(
            name: "DMLBackbonesTests",
            dependencies: ["DMLBackbones", "DMLNetworks", "DMLWeights", "DMLNumerics", "DMLTestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(name: "DMLEvaluationTests", dependencies: ["DMLEvaluation", "DMLBenchmarks", "DMLTestSupport"]),
        .testTarget(name: "DMLBenchmarksTests", dependencies: ["DMLBenchmarks", "DMLEvaluation", "DMLNetworks", "DMLNumerics"]),
        .testTarget(name: "DMLDataTests", dependencies: ["DMLData", "CImageCodecs", "DMLTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "DMLTrainingTests", dependencies: ["DMLTraining", "DMLRunDirectory", "DMLTestSupport"]),
        .testTarget(name: "DMLRunDirectoryTests", dependencies: ["DMLRunDirectory", "DMLNumerics"]),
        .testTarget(name: "DMLReportTests", dependencies: ["DMLReport", "DMLRunDirectory", "DMLTraining", "DMLNumerics", "DMLData"]),
        .testTarget(name: "DMLCommandsTests", dependencies: ["DMLCommands", "DMLRunDirectory", "DMLTestSupport"]),
        .testTarget(name: "DMLWeightsTests", dependencies: ["DMLWeights", "DMLCommands"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
