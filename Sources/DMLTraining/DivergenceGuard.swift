import Foundation
import DMLNumerics
import DMLNetworks

/// Training diverged: a number that must be finite is not, or the embeddings vanished.
/// The run stops before anything of the iteration is checkpointed.
public struct DivergenceError: Error, Equatable, CustomStringConvertible {
    /// The iteration (1-based, as in `log.jsonl`) whose step produced the bad value.
    public var iteration: Int
    /// What went bad: `loss`, `embeddings`, `gradient of hidden1.weight`,
    /// `parameter embedding.bias`, `batch-norm statistic bn1.running_var`, …
    public var location: String
    /// What is wrong with it (`non-finite values (NaN or ±infinity)`, `a zero-norm row`).
    public var problem: String
    /// A likely cause and what to try.
    public var cause: String
    /// Where in the network it started, when that was traced (`DivergenceGuard.diagnose`).
    public var detail: String?

    /// A divergence at `iteration`.
    public init(iteration: Int, location: String, problem: String, cause: String, detail: String? = nil) {
        self.iteration = iteration
        self.location = location
        self.problem = problem
        self.cause = cause
        self.detail = detail
    }

    public var description: String {
        "training diverged at iteration \(iteration): \(location) has \(problem)" + (detail.map { " (\($0))" } ?? "")
            + "; likely cause: \(cause). The run is stopped; nothing of this iteration is checkpointed."
    }
}

/// Cheap checks, run at every step, that stop a diverging run with a message naming the
/// iteration, the layer and a likely cause (docs/guarantees.md, "Run directories").
///
/// After the forward pass the batch embeddings must be finite with no zero-norm row (an
/// L2-normalized network maps a zero or NaN vector to 0); the loss must be finite; after the
/// optimizer step one pass over every parameter, its gradient and every buffer (batch-norm
/// running statistics) checks that all are finite.
public enum DivergenceGuard {
    /// Whether every element of `buffer` is finite. Branch-free over the IEEE bits (the
    /// exponent field all ones means NaN or infinity), so it vectorizes.
    public static func allFinite(_ buffer: UnsafeBufferPointer<Float>) -> Bool {
        var worst: UInt32 = 0
        buffer.withMemoryRebound(to: UInt32.self) { bits in
            for b in bits { worst = max(worst, b & 0x7FFF_FFFF) }
        }
        return worst < 0x7F80_0000
    }

    /// Whether every element of `matrix` is finite.
    public static func allFinite(_ matrix: Matrix<Float>) -> Bool {
        matrix.withUnsafeBufferPointer { allFinite($0) }
    }

    /// A likely cause of a divergence under `optimizer`.
    public static func likelyCause(_ optimizer: OptimizerConfiguration) -> String {
        let lr = optimizer.learningRate
        let largest = lr * max(1, optimizer.embeddingLearningRateMultiplier)
        let sgd = optimizer.name == .sgd
        if largest > (sgd ? 1.0 : 0.1) {
            return "learning rate \(format(lr)) too large (\(optimizer.name.rawValue) usually needs \(sgd ? "1e-3 to 1e-1" : "1e-4 to 1e-2"); the embedding layer runs at \(format(largest))); lower --lr"
        }
        return "learning rate \(format(lr)) may still be too large for this model, or the inputs hold extreme values; lower --lr or check the data"
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) >= 1e3 ? String(format: "%.0e", x).replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(of: "e+", with: "e") : "\(x)"
    }

    /// Checks the batch embeddings (rows of `embeddings`) of iteration `iteration`.
    public static func checkEmbeddings(_ embeddings: Matrix<Float>, iteration: Int, optimizer: OptimizerConfiguration) throws {
        guard allFinite(embeddings) else {
            throw DivergenceError(iteration: iteration, location: "embeddings (network output)",
                                  problem: "non-finite values (NaN or ±infinity)", cause: likelyCause(optimizer))
        }
        let d = embeddings.columns
        let zeroRow = embeddings.withUnsafeBufferPointer { x -> Int? in
            for i in 0..<embeddings.rows {
                var s: Float = 0
                for j in 0..<d { s += x[i * d + j] * x[i * d + j] }
                if s == 0 { return i }
            }
            return nil
        }
        if let zeroRow {
            throw DivergenceError(iteration: iteration, location: "embeddings (network output)",
                                  problem: "a zero-norm row (batch item \(zeroRow)): the network maps inputs to 0",
                                  cause: likelyCause(optimizer))
        }
    }

    /// Checks a loss value.
    public static func checkLoss(_ loss: Double, iteration: Int, optimizer: OptimizerConfiguration) throws {
        guard loss.isFinite else {
            throw DivergenceError(iteration: iteration, location: "loss", problem: "the value \(loss)", cause: likelyCause(optimizer))
        }
    }

    /// One pass over the parameters, their gradients and the buffers of `model` after the
    /// optimizer step. A buffer (written by the forward pass) is reported first, then a
    /// gradient (the backward pass), then a parameter (the step), so the message names the
    /// earliest stage that went wrong.
    public static func checkModel(_ model: Sequential<Float>, iteration: Int, optimizer: OptimizerConfiguration) throws {
        var badBuffer: String?, badGradient: String?, badParameter: String?
        model.visitBuffers { name, value in
            if badBuffer == nil, !allFinite(value) { badBuffer = name }
        }
        model.visitParameters { name, value, gradient in
            if badGradient == nil, !allFinite(gradient) { badGradient = name }
            if badParameter == nil, !allFinite(value) { badParameter = name }
        }
        let problem = "non-finite values (NaN or ±infinity)"
        if let badBuffer {
            let kind = badBuffer.lowercased().contains("running") ? "batch-norm statistic" : "buffer"
            throw DivergenceError(iteration: iteration, location: "\(kind) \(badBuffer)", problem: problem, cause: likelyCause(optimizer))
        }
        if let badGradient {
            throw DivergenceError(iteration: iteration, location: "gradient of \(badGradient)", problem: problem, cause: likelyCause(optimizer))
        }
        if let badParameter {
            throw DivergenceError(iteration: iteration, location: "parameter \(badParameter)", problem: problem, cause: likelyCause(optimizer))
        }
    }

    /// Where bad embeddings come from: `model` is run layer by layer on `input` (in training
    /// mode, as in the step that failed) and the first layer whose output is non-finite (else
    /// the first whose output has a zero row) is named, with the parameter of largest
    /// magnitude. Only called once a check failed, so its cost does not matter.
    public static func diagnose(_ model: Sequential<Float>, input: Tensor<Float>) -> String {
        var x = input
        var previous = (name: "the input", magnitude: largestMagnitude(input.values))
        var culprit: String?, firstZero: String?
        for (name, layer) in model.layers {
            x = layer.forward(x, training: true)
            if !allFinite(x.values) {
                culprit = "layer \(name) is the first with a non-finite output; its input, from \(previous.name), reaches |x| = \(format3(previous.magnitude))"
                break
            }
            if firstZero == nil, hasZeroRow(x.values) {
                firstZero = "layer \(name) is the first to map an item to 0; its input, from \(previous.name), reaches |x| = \(format3(previous.magnitude))"
            }
            previous = (name, largestMagnitude(x.values))
        }
        var largest = (name: "", magnitude: Float(0))
        model.visitParameters { name, value, _ in
            let m = largestMagnitude(value)
            if !(m <= largest.magnitude) { largest = (name, m) }
        }
        var parts = [String]()
        if let found = culprit ?? firstZero { parts.append(found) }
        if !largest.name.isEmpty { parts.append("the largest parameter is \(largest.name) (|w| = \(format3(largest.magnitude)))") }
        return parts.joined(separator: "; ")
    }

    static func largestMagnitude(_ x: Matrix<Float>) -> Float {
        x.withUnsafeBufferPointer { p in p.reduce(Float(0)) { !(abs($1) <= $0) ? abs($1) : $0 } }
    }

    static func format3(_ x: Float) -> String { String(format: "%.3g", Double(x)) }

    static func hasZeroRow(_ x: Matrix<Float>) -> Bool {
        let d = x.columns
        return x.withUnsafeBufferPointer { p in
            (0..<x.rows).contains { i in (0..<d).allSatisfy { p[i * d + $0] == 0 } }
        }
    }

    /// The first tensor of `archive` (in name order) holding a non-finite value.
    public static func firstNonFinite(_ archive: TensorArchive<Float>) -> String? {
        archive.tensors.keys.sorted().first { !allFinite(archive.tensors[$0]!) }
    }
}
