/// Unaligned loads and stores of `SIMD4`/`SIMD8` lanes at a scalar pointer: what the vector
/// loops of the layer kernels (the Winograd transforms, the Adam update) read and write their
/// buffers with, which need not be aligned to the vector's size.
@usableFromInline
enum UnalignedVector<Scalar: SIMDScalar> {
    /// Four values from `p`.
    @inlinable @inline(__always)
    static func load4(_ p: UnsafePointer<Scalar>) -> SIMD4<Scalar> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Scalar>.self)
    }

    /// Eight values from `p`.
    @inlinable @inline(__always)
    static func load8(_ p: UnsafePointer<Scalar>) -> SIMD8<Scalar> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Scalar>.self)
    }

    /// Four values to `p`.
    @inlinable @inline(__always)
    static func store(_ v: SIMD4<Scalar>, _ p: UnsafeMutablePointer<Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Scalar>.self)
    }

    /// Eight values to `p`.
    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Scalar>, _ p: UnsafeMutablePointer<Scalar>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Scalar>.self)
    }
}
