import DMLNumerics

/// A BLAS scalar (`Float` or `Double`) with the elementwise kernels the layers and optimizers
/// run, composed of one small protocol per domain (as swift-numerics composes `Real` of
/// `RealFunctions` and `AlgebraicField`): `ElementwiseKernels`, `ActivationKernels`,
/// `ConvolutionKernels`, `WinogradKernels`, `PoolingKernels`, `BatchNormKernels`, `L2NormalizationKernels`,
/// `DropoutKernels` and `OptimizerKernels`. A new kernel goes into the protocol of its domain
/// (with its default implementation next to it); a new domain gets its own protocol, added here.
///
/// Why a protocol and not free generic functions: layers are generic classes reached through
/// `any Layer<Scalar>` existentials, whose methods run as *unspecialized* generic code, where
/// every `+` on `Scalar` is a witness call (40× slower than specialized code, measured). Each
/// kernel is a requirement of one of the protocols above, whose default implementation is
/// specialized for the concrete conformances `Float` and `Double` in this module (declared once,
/// here: conforming to `NetworkScalar` conforms to every part), so a generic layer calls
/// `Scalar.reluForward(…)` once per batch and the per-element loop runs fully specialized.
///
/// All pointers address contiguous storage; activations are NCHW (`(n·C + c)·H·W + h·W + w`).
public protocol NetworkScalar: ElementwiseKernels, ActivationKernels, ConvolutionKernels, WinogradKernels, PoolingKernels, BatchNormKernels,
    L2NormalizationKernels, DropoutKernels, OptimizerKernels {}

extension Float: NetworkScalar {}
extension Double: NetworkScalar {}
