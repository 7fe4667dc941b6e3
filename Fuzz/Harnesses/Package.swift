// swift-tools-version:6.0
import Foundation
import PackageDescription

/// SwiftPM names a package dependency given by path after its folder (the clone's name).
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let rootIdentity = root.lastPathComponent

/// The harnesses, one per parser (`scripts/fuzz.sh` runs them all).
let harnesses = ["npy", "idx", "idx-gzip", "mat", "png", "jpeg", "checkpoint", "tensor-archive", "config", "safetensors", "pytorch-zip", "pytorch-legacy"]

/// libFuzzer harnesses for every parser of outside bytes in SwiftMetricLearning.
///
/// A separate package so that the main package's build and tests are untouched: it depends on
/// the root package by path and is built by `scripts/fuzz.sh` with
/// `--sanitize fuzzer --sanitize address`, which instruments the library code (for coverage
/// feedback and address checks) as well as the harnesses. Each executable target is one harness:
/// its `LLVMFuzzerTestOneInput` feeds the bytes to one parser and must never crash.
let package = Package(
    name: "DMLFuzz",
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "SwiftMetricLearning", package: rootIdentity)]),
    ] + harnesses.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: ["FuzzSupport", .product(name: "SwiftMetricLearning", package: rootIdentity)]
        )
    },
    swiftLanguageModes: [.v6]
)
