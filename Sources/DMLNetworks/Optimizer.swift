import DMLNumerics

/// Weight decay of an optimizer.
///
/// - `coupled(λ)`: L2 regularization folded into the gradient, `g ← g + λ w` (PyTorch's
///   `weight_decay` of `SGD` and `Adam`).
/// - `decoupled(λ)`: decay applied to the weights, `w ← w − η λ w` before the update (PyTorch's
///   `AdamW`, Loshchilov & Hutter 2019), with `η` the effective learning rate of the step.
public enum WeightDecay: Sendable, Equatable, Codable {
    /// No decay.
    case none
    /// `g ← g + λ w`.
    case coupled(Double)
    /// `w ← w − η λ w`.
    case decoupled(Double)

    /// `(coupled λ, decoupled λ)`, each scaled by a group multiplier.
    func coefficients(scaledBy s: Double) -> (coupled: Double, decoupled: Double) {
        switch self {
        case .none: return (0, 0)
        case .coupled(let l): return (l * s, 0)
        case .decoupled(let l): return (0, l * s)
        }
    }
}

/// A parameter group: the parameters whose names start with `namePrefix` train with the
/// learning rate multiplied by `learningRateMultiplier` and the weight decay multiplied by
/// `weightDecayMultiplier` (0 excludes them from decay). The papers train the embedding layer
/// 10× faster: `ParameterGroup(namePrefix: "embedding", learningRateMultiplier: 10)`.
/// The first matching group in an optimizer's list applies; other parameters use 1 and 1.
public struct ParameterGroup: Sendable, Equatable, Codable {
    /// The name prefix selecting the parameters (e.g. `"embedding."`).
    public var namePrefix: String
    /// The learning-rate multiplier.
    public var learningRateMultiplier: Double
    /// The weight-decay multiplier.
    public var weightDecayMultiplier: Double

    /// A group of the parameters whose names start with `namePrefix`.
    public init(namePrefix: String, learningRateMultiplier: Double = 1, weightDecayMultiplier: Double = 1) {
        self.namePrefix = namePrefix
        self.learningRateMultiplier = learningRateMultiplier
        self.weightDecayMultiplier = weightDecayMultiplier
    }
}

extension Array where Element == ParameterGroup {
    /// The (learning-rate, weight-decay) multipliers of the parameter `name`.
    func multipliers(for name: String) -> (learningRate: Double, weightDecay: Double) {
        guard let group = first(where: { name.hasPrefix($0.namePrefix) }) else { return (1, 1) }
        return (group.learningRateMultiplier, group.weightDecayMultiplier)
    }
}

/// An optimizer: updates a model's parameters in place from the gradients its last backward
/// pass accumulated. Per-parameter state (moments) is keyed by parameter name.
public protocol Optimizer<Scalar> {
    /// The scalar type of the model.
    associatedtype Scalar: NetworkScalar

    /// The base learning rate `η₀`; a schedule sets it before each step
    /// (`optimizer.learningRate = schedule.learningRate(base:step:)`).
    var learningRate: Double { get set }

    /// The number of steps taken so far.
    var stepCount: Int { get }

    /// Applies one update to every parameter of `model`.
    mutating func step(_ model: any Layer<Scalar>)

    /// The optimizer state as named tensors and integers (for checkpoints).
    func exportState(into archive: inout TensorArchive<Scalar>, prefix: String)

    /// Restores the state written by `exportState`; throws when a tensor is missing or its shape
    /// differs from the model's parameter.
    mutating func importState(from archive: TensorArchive<Scalar>, prefix: String, model: any Layer<Scalar>) throws
}
