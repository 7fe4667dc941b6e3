import DMLNumerics

/// Layers applied in order, `y = f_L(… f_2(f_1(x)))`; backward runs them in reverse.
///
/// Each layer has a name (its index by default); parameter, buffer and counter names are
/// `"<layer name>.<name>"`, e.g. `"block1.conv.weight"`, so nested `Sequential`s compose.
public final class Sequential<Scalar: NetworkScalar>: Layer {
    /// The named layers, in order.
    public private(set) var layers: [(name: String, layer: any Layer<Scalar>)]

    /// A container of `layers` named `"0"`, `"1"`, ….
    public init(_ layers: [any Layer<Scalar>]) {
        self.layers = layers.enumerated().map { (String($0.offset), $0.element) }
    }

    /// A container of named layers. Names must be unique and non-empty.
    public init(named layers: [(String, any Layer<Scalar>)]) {
        precondition(Set(layers.map(\.0)).count == layers.count && !layers.contains { $0.0.isEmpty },
                     "Sequential layer names must be unique and non-empty")
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
    }

    /// Appends a layer named `name` (its index when nil).
    public func append(_ layer: any Layer<Scalar>, name: String? = nil) {
        let name = name ?? String(layers.count)
        precondition(!layers.contains { $0.name == name }, "Sequential already has a layer named \(name)")
        layers.append((name, layer))
    }

    /// The layer named `name`, if any.
    public subscript(name: String) -> (any Layer<Scalar>)? {
        layers.first { $0.name == name }?.layer
    }

    public func outputShape(for input: TensorShape) throws -> TensorShape {
        var shape = input
        for (name, layer) in layers {
            do { shape = try layer.outputShape(for: shape) } catch let error as NetworkShapeError {
                throw NetworkShapeError(layer: "layer \(name) (\(error.layer))", reason: error.reason)
            }
        }
        return shape
    }

    public func forward(_ input: Tensor<Scalar>, training: Bool) -> Tensor<Scalar> {
        var x = input
        for entry in layers { x = entry.layer.forward(x, training: training) }
        return x
    }

    public func backward(_ outputGradient: Tensor<Scalar>) -> Tensor<Scalar> {
        var g = outputGradient
        for entry in layers.reversed() { g = entry.layer.backward(g) }
        return g
    }

    public func visitParameters(_ visit: (String, inout Matrix<Scalar>, inout Matrix<Scalar>) -> Void) {
        for (prefix, layer) in layers {
            layer.visitParameters { name, value, gradient in visit(prefix + "." + name, &value, &gradient) }
        }
    }

    public func visitBuffers(_ visit: (String, inout Matrix<Scalar>) -> Void) {
        for (prefix, layer) in layers {
            layer.visitBuffers { name, value in visit(prefix + "." + name, &value) }
        }
    }

    public func visitCounters(_ visit: (String, inout Int) -> Void) {
        for (prefix, layer) in layers {
            layer.visitCounters { name, value in visit(prefix + "." + name, &value) }
        }
    }
}
