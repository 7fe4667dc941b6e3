import DMLNumerics

/// The per-sample shape of an activation: `channels × height × width` (NCHW without the batch).
///
/// A feature vector of dimension `d` has shape `d × 1 × 1`.
public struct TensorShape: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The number of channels `C`.
    public var channels: Int
    /// The spatial height `H`.
    public var height: Int
    /// The spatial width `W`.
    public var width: Int

    /// A `channels × height × width` shape.
    public init(channels: Int, height: Int = 1, width: Int = 1) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// The shape of a flat feature vector of dimension `d`: `d × 1 × 1`.
    public static func vector(_ d: Int) -> TensorShape { TensorShape(channels: d) }

    /// `C · H · W`, the number of values per sample (the columns of the activation matrix).
    public var count: Int { channels * height * width }

    /// `H · W`, the number of values per channel of one sample.
    public var spatialCount: Int { height * width }

    /// `"C×H×W"`.
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// A batch of activations in NCHW layout: a `batch × (C·H·W)` matrix (one row per sample,
/// each row the sample's `C × H × W` values in row-major order) plus the per-sample shape.
public struct Tensor<Scalar: BLASScalar>: Equatable, Sendable {
    /// The values, one row per sample.
    public var values: Matrix<Scalar>
    /// The shape of one sample.
    public var shape: TensorShape

    /// A tensor over `values`, whose column count must equal `shape.count`.
    public init(_ values: Matrix<Scalar>, shape: TensorShape) {
        precondition(values.columns == shape.count,
                     "Tensor of shape \(shape) needs \(shape.count) columns, got \(values.columns)")
        self.values = values
        self.shape = shape
    }

    /// A batch of feature vectors: the rows of `values`, shape `columns × 1 × 1`.
    public init(_ values: Matrix<Scalar>) {
        self.init(values, shape: .vector(values.columns))
    }

    /// The number of samples (rows).
    public var batch: Int { values.rows }
}
