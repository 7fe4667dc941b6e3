/// An instrumentation hook for the matrix products (GEMMs) of `Linear` and `Conv2D`: a layer
/// with an observer (`gemmObserver`) hands each of its GEMMs to `observe(_:)` instead of running
/// it directly. The benchmarks' GEMM profiler times them; the library itself attaches none.
///
/// `observe` must run `product` exactly once, on the calling thread. A layer that splits its
/// samples over a pool hands over the products of the calling thread's share only (worker 0),
/// so an observer is never called concurrently.
public protocol GEMMObserver: AnyObject {
    /// Runs `product` (one or more GEMM calls of the layer).
    func observe(_ product: () -> Void)
}

extension Optional where Wrapped == any GEMMObserver {
    /// Runs `product` through the observer when there is one, else directly.
    func observe(_ product: () -> Void) {
        if let observer = self { observer.observe(product) } else { product() }
    }
}
