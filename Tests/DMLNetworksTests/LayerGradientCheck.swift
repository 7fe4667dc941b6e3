import DMLNetworks
import DMLNumerics
import DMLTestSupport

/// Checks a layer's backward pass against central finite differences in Double, for the input
/// and for every parameter, on the scalar function `f = Σ R ⊙ layer(x)` with a fixed random `R`.
struct LayerGradientCheck {
    /// The worst error of the input gradient.
    var inputError: Double
    /// The worst error of each parameter gradient, by name.
    var parameterErrors: [String: Double]

    /// The largest error over the input and all parameters.
    var worst: Double { max(inputError, parameterErrors.values.max() ?? 0) }

    /// Runs the check. `reset` is called before every forward pass (e.g. to replay a dropout mask).
    init(_ layer: any Layer<Double>, input: Tensor<Double>, training: Bool = true, seed: UInt64 = 99,
         reset: () -> Void = {}) {
        reset()
        let output = layer.forward(input, training: training)
        var rng = SeededGenerator(seed: seed)
        let weights = Tensor(rng.normalMatrix(rows: output.values.rows, columns: output.values.columns, as: Double.self),
                             shape: output.shape)
        func objective() -> Double {
            reset()
            let y = layer.forward(input, training: training)
            return zip(y.values.elements, weights.values.elements).reduce(0) { $0 + $1.0 * $1.1 }
        }
        reset()
        _ = layer.forward(input, training: training)
        layer.zeroGradients()
        let analyticInput = layer.backward(weights).values
        var analyticParameters: [String: Matrix<Double>] = [:]
        layer.visitParameters { name, _, gradient in analyticParameters[name] = gradient }

        inputError = FiniteDifference.check({ x in
            reset()
            let y = layer.forward(Tensor(x, shape: input.shape), training: training)
            return zip(y.values.elements, weights.values.elements).reduce(0) { $0 + $1.0 * $1.1 }
        }, analytic: analyticInput, at: input.values)

        var errors: [String: Double] = [:]
        for (name, analytic) in analyticParameters {
            var original = Matrix<Double>(rows: 0, columns: 0)
            layer.visitParameters { n, value, _ in if n == name { original = value } }
            let error = FiniteDifference.check({ p in
                layer.visitParameters { n, value, _ in if n == name { value = p } }
                return objective()
            }, analytic: analytic, at: original)
            layer.visitParameters { n, value, _ in if n == name { value = original } }
            errors[name] = error
        }
        parameterErrors = errors
    }
}

/// A seeded random tensor of the given batch and shape.
func randomTensor(batch: Int, shape: TensorShape, seed: UInt64) -> Tensor<Double> {
    var rng = SeededGenerator(seed: seed)
    return Tensor(rng.normalMatrix(rows: batch, columns: shape.count), shape: shape)
}
