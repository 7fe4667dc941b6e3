/// A learning-rate schedule: the rate of step `t = 0, 1, …` (counted in optimizer steps or in
/// epochs, as the caller chooses) from the base rate `η₀`.
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    /// `η_t = η₀`.
    case constant
    /// `η_t = η₀ · γ^⌊t / every⌋` (PyTorch's `StepLR`).
    case step(every: Int, factor: Double)
    /// `η_t = η_min + (η₀ − η_min)(1 + cos(π · min(t, T)/T))/2` with `η_min = η₀ · minimumFactor`
    /// (PyTorch's `CosineAnnealingLR` without restarts; `η_T = η_min` and it stays there).
    case cosine(totalSteps: Int, minimumFactor: Double)

    /// The learning rate of step `t` for base rate `base`.
    public func learningRate(base: Double, step t: Int) -> Double {
        switch self {
        case .constant:
            return base
        case .step(let every, let factor):
            return base * Double.pow(factor, Double(max(t, 0) / max(every, 1)))
        case .cosine(let total, let minimumFactor):
            let minimum = base * minimumFactor
            let progress = Double(min(max(t, 0), max(total, 1))) / Double(max(total, 1))
            return minimum + (base - minimum) * (1 + Double.cos(Double.pi * progress)) / 2
        }
    }
}
