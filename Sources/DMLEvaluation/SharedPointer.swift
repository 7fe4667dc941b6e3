/// A raw pointer that may cross into the workers of a `ThreadPool` region, which write
/// disjoint ranges of it.
struct SharedPointer<Pointee>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Pointee>
}
