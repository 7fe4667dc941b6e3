import DMLNumerics

/// A pointwise activation function.
public enum ActivationFunction: String, Sendable, Codable, CaseIterable {
    /// `max(x, 0)` (PyTorch's `ReLU`).
    case relu
    /// `min(max(x, 0), 6)` (PyTorch's `ReLU6`, MobileNet and EfficientNet-Lite).
    case relu6
}

/// An elementwise activation layer: `y = f(x)` with `f` a `ActivationFunction`. Backward uses
/// the output: ReLU `∂L/∂x = g · [y > 0]`, ReLU6 `∂L/∂x = g · [0 < y < 6]` (the subgradient 0 at
/// the kinks, as PyTorch). `ReLU` is the same as `Activation(.relu)`.
public final class Activation<Scalar: NetworkScalar>: Layer {
    /// The function applied.
    public let function: ActivationFunction
    private var output = Matrix<Scalar>.empty
    private var inputGradient = Matrix<Scalar>.empty

    /// An activation layer applying `function`.
    public init(_ function: ActivationFunction) {
        self.function = function
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape { input }

    public func forward(_ x: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        output.reshapeForReuse(rows: x.values.rows, columns: x.values.columns)
        Self.apply(function, x.values, into: &output)
        return Tensor(output, shape: x.shape)
    }

    public func backward(_ g: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(g.values.rows == output.rows && g.values.columns == output.columns, "Activation.backward: gradient shape differs from the output")
        inputGradient.reshapeForReuse(rows: output.rows, columns: output.columns)
        Self.differentiate(function, g.values, output: output, into: &inputGradient)
        return Tensor(inputGradient, shape: g.shape)
    }

    /// `y = f(x)` elementwise (`y` already sized like `x`; may not alias it).
    static func apply(_ function: ActivationFunction, _ x: Matrix<Scalar>, into y: inout Matrix<Scalar>) {
        let n = x.count
        withPointers(x, &y) { xp, yp in
            switch function {
            case .relu: Scalar.reluForward(xp, into: yp, count: n)
            case .relu6: Scalar.relu6Forward(xp, into: yp, count: n)
            }
        }
    }

    /// `dx = g · f'(x)` from the output `y = f(x)` (`dx` already sized like `g`).
    static func differentiate(_ function: ActivationFunction, _ g: Matrix<Scalar>, output: Matrix<Scalar>, into dx: inout Matrix<Scalar>) {
        let n = g.count
        guard n > 0 else { return }
        output.withUnsafeBufferPointer { y in
            withPointers(g, &dx) { gp, dp in
                switch function {
                case .relu: Scalar.reluBackward(gp, output: y.baseAddress!, into: dp, count: n)
                case .relu6: Scalar.relu6Backward(gp, output: y.baseAddress!, into: dp, count: n)
                }
            }
        }
    }
}
