import DMLNumerics

/// Ready-made embedding networks. Every weight comes from one `SeededGenerator(seed:)`, in layer
/// order, so the same seed gives the same network. The first layer does not compute the
/// gradient with respect to the data unless `computesInputGradient` is set (saves a GEMM per step).
public enum ModelPresets {
    /// An MLP for feature vectors:
    /// `input → [Linear(h) → (BatchNorm) → ReLU → (Dropout)]* → Linear(embedding) → (L2Normalize)`.
    ///
    /// Layer names: `hidden1`, `bn1` (the batch norm with its ReLU fused, `BatchNorm.activation`)
    /// or `relu1` (without batch norm), `dropout1`, …, `embedding`, `l2`. Hidden layers use He
    /// initialization, the embedding layer Xavier uniform.
    public static func mlp<T: NetworkScalar>(
        inputDimension: Int, hiddenDimensions: [Int] = [512], embeddingDimension: Int = 512,
        batchNorm: Bool = false, dropout: Double = 0, normalize: Bool = true,
        computesInputGradient: Bool = false, seed: UInt64, as _: T.Type = T.self
    ) -> Sequential<T> {
        var generator = SeededGenerator(seed: seed)
        let model = Sequential<T>([])
        var width = inputDimension
        for (index, hidden) in hiddenDimensions.enumerated() {
            let k = index + 1
            let linear = Linear<T>(width, hidden, bias: !batchNorm, initialization: .heNormal, generator: &generator)
            linear.computesInputGradient = index > 0 || computesInputGradient
            model.append(linear, name: "hidden\(k)")
            if batchNorm {
                model.append(BatchNorm<T>(channels: hidden, activation: .relu), name: "bn\(k)")
            } else {
                model.append(ReLU<T>(), name: "relu\(k)")
            }
            if dropout > 0 { model.append(Dropout<T>(probability: dropout, seed: seed &+ UInt64(k)), name: "dropout\(k)") }
            width = hidden
        }
        let embedding = Linear<T>(width, embeddingDimension, initialization: .xavierUniform, generator: &generator)
        embedding.computesInputGradient = !hiddenDimensions.isEmpty || computesInputGradient
        model.append(embedding, name: "embedding")
        if normalize { model.append(L2Normalize<T>(), name: "l2") }
        model.computesInputGradient = computesInputGradient
        return model
    }

    /// A small CNN for 28×28 or 32×32 grayscale or RGB images: blocks of
    /// `Conv 3×3 (pad 1, no bias) → BatchNorm → ReLU → MaxPool 2×2`, the last block without
    /// pooling, then `GlobalAvgPool → Linear(embedding) → (L2Normalize)`.
    ///
    /// Layer names: `block1.conv`, `block1.bn` (the batch norm with its ReLU fused,
    /// `BatchNorm.activation`: one pass in training instead of two layers' three), `block1.pool`,
    /// …, `pool`, `embedding`, `l2`. With the default widths [32, 64, 128] a 1×28×28 input goes
    /// 32×28×28 → 32×14×14 → 64×14×14 → 64×7×7 → 128×7×7 → 128 → embedding.
    public static func convolutional<T: NetworkScalar>(
        input: TensorShape, widths: [Int] = [32, 64, 128], embeddingDimension: Int = 512,
        normalize: Bool = true, computesInputGradient: Bool = false, seed: UInt64, as _: T.Type = T.self
    ) -> Sequential<T> {
        var generator = SeededGenerator(seed: seed)
        let model = Sequential<T>([])
        var channels = input.channels
        for (index, width) in widths.enumerated() {
            let k = index + 1
            let conv = Conv2D<T>(channels, width, kernelSize: 3, padding: 1, bias: false,
                                 initialization: .heNormal, generator: &generator)
            conv.computesInputGradient = index > 0 || computesInputGradient
            model.append(conv, name: "block\(k).conv")
            model.append(BatchNorm<T>(channels: width, activation: .relu), name: "block\(k).bn")
            if index < widths.count - 1 { model.append(MaxPool2D<T>(kernelSize: 2), name: "block\(k).pool") }
            channels = width
        }
        model.append(GlobalAvgPool<T>(), name: "pool")
        model.append(Linear<T>(channels, embeddingDimension, initialization: .xavierUniform, generator: &generator), name: "embedding")
        if normalize { model.append(L2Normalize<T>(), name: "l2") }
        model.computesInputGradient = computesInputGradient
        return model
    }

    /// The default Fashion-MNIST model: `convolutional(input: 1×28×28)` with the given embedding size.
    public static func fashionMNIST<T: NetworkScalar>(
        embeddingDimension: Int = 512, normalize: Bool = true, seed: UInt64, as _: T.Type = T.self
    ) -> Sequential<T> {
        convolutional(input: TensorShape(channels: 1, height: 28, width: 28), embeddingDimension: embeddingDimension,
                      normalize: normalize, seed: seed)
    }
}
