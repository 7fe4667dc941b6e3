import DMLNumerics

/// How a weight tensor is initialized from a seeded generator. `fanIn` is the number of inputs
/// of one output unit (`in` for a linear layer, `C·k²` for a convolution), `fanOut` the number
/// of outputs fed by one input (`out`, `O·k²`).
public enum Initialization: String, Sendable, Codable, CaseIterable {
    /// He (Kaiming) normal, for ReLU networks: `w ~ N(0, 2/fanIn)`.
    case heNormal
    /// He (Kaiming) uniform: `w ~ U(−a, a)`, `a = √(6/fanIn)`.
    case heUniform
    /// Xavier (Glorot) normal: `w ~ N(0, 2/(fanIn + fanOut))`.
    case xavierNormal
    /// Xavier (Glorot) uniform: `w ~ U(−a, a)`, `a = √(6/(fanIn + fanOut))`.
    case xavierUniform

    /// A `rows × columns` weight matrix drawn from this distribution.
    public func weights<T: BLASScalar>(
        rows: Int, columns: Int, fanIn: Int, fanOut: Int, generator: inout SeededGenerator
    ) -> Matrix<T> {
        let fanIn = Double(max(fanIn, 1)), fanOut = Double(max(fanOut, 1))
        switch self {
        case .heNormal:
            return generator.normalMatrix(rows: rows, columns: columns, std: (2 / fanIn).squareRoot())
        case .heUniform:
            let a = (6 / fanIn).squareRoot()
            return generator.uniformMatrix(rows: rows, columns: columns, low: -a, high: a)
        case .xavierNormal:
            return generator.normalMatrix(rows: rows, columns: columns, std: (2 / (fanIn + fanOut)).squareRoot())
        case .xavierUniform:
            let a = (6 / (fanIn + fanOut)).squareRoot()
            return generator.uniformMatrix(rows: rows, columns: columns, low: -a, high: a)
        }
    }
}
