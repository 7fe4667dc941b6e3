import DMLNumerics
import DMLNetworks

/// GoogLeNet (Inception v1, Szegedy et al. 2015) in torchvision 0.14's batch-normalized form,
/// the papers' backbone family, ending in the pooled features.
///
///     conv1      BasicConv 7×7, stride 2, padding 3      3 → 64
///     maxpool1   3×3, stride 2, ceil mode
///     conv2      BasicConv 1×1 → 64;  conv3  BasicConv 3×3, padding 1 → 192
///     maxpool2   3×3, stride 2, ceil mode
///     inception3a, inception3b, maxpool3 (3×3, stride 2, ceil)
///     inception4a … inception4e, maxpool4 (2×2, stride 2, ceil)
///     inception5a, inception5b
///     avgpool    global average pooling → 1024 features
///
/// `BasicConv` = `conv` (no bias) → `bn` (ε 1e-3, momentum 0.1) → ReLU. An Inception module
/// concatenates four branches along the channels: `branch1` 1×1; `branch2` 1×1 → 3×3;
/// `branch3` 1×1 → 3×3 (torchvision's known deviation from the paper's 5×5, kept so its
/// weights load); `branch4` 3×3 max pool (stride 1, padding 1, ceil) → 1×1. Names are
/// torchvision's (`inception4a.branch2.1.conv.weight`).
///
/// What the backbone leaves out: the classifier `fc` with its dropout (0.2) and the two auxiliary
/// classifiers `aux1`, `aux2` (training-time heads of the ImageNet classifier, not part of an
/// embedding network; torchvision's pretrained file carries them and the loader skips them).
/// torchvision's `transform_input` (pretrained weights expect inputs in [−1, 1]) is expressed as
/// the backbone's input normalization, `(v − 0.5)/0.5` (see `BackboneKind.inputNormalization`).
///
/// `widthDivisor` divides every channel count (the test fixtures use 16). Weights are He-normal
/// (fan-in) initialized; BatchNorm γ = 1, β = 0.
public enum GoogLeNet {
    /// The Inception modules: name, input, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection.
    static let modules: [(String, [Int])] = [
        ("inception3a", [192, 64, 96, 128, 16, 32, 32]),
        ("inception3b", [256, 128, 128, 192, 32, 96, 64]),
        ("inception4a", [480, 192, 96, 208, 16, 48, 64]),
        ("inception4b", [512, 160, 112, 224, 24, 64, 64]),
        ("inception4c", [512, 128, 128, 256, 24, 64, 64]),
        ("inception4d", [512, 112, 144, 288, 32, 64, 64]),
        ("inception4e", [528, 256, 160, 320, 32, 128, 128]),
        ("inception5a", [832, 256, 160, 320, 32, 128, 128]),
        ("inception5b", [832, 384, 192, 384, 48, 128, 128]),
    ]

    /// The pooled feature dimension for `widthDivisor`: 1024 / d.
    public static func featureDimension(widthDivisor: Int = 1) -> Int { 1024 / widthDivisor }

    /// The backbone with every channel count divided by `widthDivisor` (which must divide them
    /// all: 1, 2, 4, 8 or 16), weights from `seed`, for 3-channel input.
    public static func make<T: NetworkScalar>(widthDivisor: Int = 1, seed: UInt64, as _: T.Type = T.self) -> Sequential<T> {
        precondition([1, 2, 4, 8, 16].contains(widthDivisor), "GoogLeNet's width divisor must be 1, 2, 4, 8 or 16")
        let d = widthDivisor
        var g = SeededGenerator(seed: seed)
        let model = Sequential<T>([])
        model.append(basicConv(3, 64 / d, kernel: 7, stride: 2, padding: 3, generator: &g, as: T.self), name: "conv1")
        model.append(MaxPool2D<T>(kernelSize: 3, stride: 2, ceilMode: true), name: "maxpool1")
        model.append(basicConv(64 / d, 64 / d, kernel: 1, generator: &g, as: T.self), name: "conv2")
        model.append(basicConv(64 / d, 192 / d, kernel: 3, padding: 1, generator: &g, as: T.self), name: "conv3")
        model.append(MaxPool2D<T>(kernelSize: 3, stride: 2, ceilMode: true), name: "maxpool2")
        for (name, c) in modules {
            let s = c.map { $0 / d }
            model.append(inception(s[0], s[1], s[2], s[3], s[4], s[5], s[6], generator: &g, as: T.self), name: name)
            if name == "inception3b" { model.append(MaxPool2D<T>(kernelSize: 3, stride: 2, ceilMode: true), name: "maxpool3") }
            if name == "inception4e" { model.append(MaxPool2D<T>(kernelSize: 2, stride: 2, ceilMode: true), name: "maxpool4") }
        }
        model.append(GlobalAvgPool<T>(), name: "avgpool")
        return model
    }

    /// torchvision's `BasicConv2d`: `conv` (no bias) → `bn` (ε 1e-3) → ReLU.
    static func basicConv<T: NetworkScalar>(_ input: Int, _ output: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                                            generator g: inout SeededGenerator, as _: T.Type) -> Sequential<T> {
        Sequential<T>(named: [
            ("conv", Conv2D<T>(input, output, kernelSize: kernel, stride: stride, padding: padding, bias: false, generator: &g)),
            ("bn", BatchNorm<T>(channels: output, epsilon: 1e-3)),
            ("relu", ReLU<T>()),
        ])
    }

    /// torchvision's `Inception` module.
    static func inception<T: NetworkScalar>(_ input: Int, _ c1: Int, _ r3: Int, _ c3: Int, _ r5: Int, _ c5: Int, _ pool: Int,
                                            generator g: inout SeededGenerator, as _: T.Type) -> Concatenate<T> {
        let branch1 = basicConv(input, c1, kernel: 1, generator: &g, as: T.self)
        let branch2 = Sequential<T>(named: [("0", basicConv(input, r3, kernel: 1, generator: &g, as: T.self)),
                                            ("1", basicConv(r3, c3, kernel: 3, padding: 1, generator: &g, as: T.self))])
        let branch3 = Sequential<T>(named: [("0", basicConv(input, r5, kernel: 1, generator: &g, as: T.self)),
                                            ("1", basicConv(r5, c5, kernel: 3, padding: 1, generator: &g, as: T.self))])
        let branch4 = Sequential<T>(named: [("0", MaxPool2D<T>(kernelSize: 3, stride: 1, padding: 1, ceilMode: true)),
                                            ("1", basicConv(input, pool, kernel: 1, generator: &g, as: T.self))])
        return Concatenate<T>(named: [("branch1", branch1), ("branch2", branch2), ("branch3", branch3), ("branch4", branch4)])
    }
}
