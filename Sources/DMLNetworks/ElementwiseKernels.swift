import DMLNumerics
import RealModule

extension NetworkScalar {
    @inlinable
    public static func fill(_ x: UnsafeMutablePointer<Self>, count: Int, value: Self) {
        x.update(repeating: value, count: count)
    }

    @inlinable
    public static func multiply(_ x: UnsafePointer<Self>, _ m: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] = x[i] * m[i] }
    }

    @inlinable
    public static func reluForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { let v = x[i]; y[i] = v > 0 ? v : 0 }
    }

    @inlinable
    public static func reluBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int) {
        // Both loads are unconditional so the compiler emits a vector select, not a branch
        // (a branch mispredicts on half the elements of a ReLU layer).
        for i in 0..<count {
            let gi = g[i], yi = y[i]
            dx[i] = yi > 0 ? gi : 0
        }
    }

    @inlinable
    public static func relu6Forward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            let lower = v > 0 ? v : 0
            y[i] = lower < 6 ? lower : 6
        }
    }

    @inlinable
    public static func relu6Backward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count {
            let gi = g[i], yi = y[i]
            dx[i] = yi > 0 && yi < 6 ? gi : 0
        }
    }

    @inlinable
    public static func add(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] = a[i] + b[i] }
    }

    @inlinable
    public static func accumulate(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    @inlinable
    public static func copy(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        y.update(from: x, count: count)
    }

    @inlinable
    public static func addRowVector(_ b: UnsafePointer<Self>, to y: UnsafeMutablePointer<Self>, rows: Int, columns: Int) {
        for i in 0..<rows {
            let row = y + i * columns
            for j in 0..<columns { row[j] += b[j] }
        }
    }

    @inlinable
    public static func channelRowSum(_ x: UnsafePointer<Self>, count: Int) -> Self {
        var s: Self = 0
        for i in 0..<count { s = Relaxed.sum(s, x[i]) }
        return s
    }

    @inlinable
    public static func accumulateColumnSums(_ g: UnsafePointer<Self>, rows: Int, columns: Int, into s: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let row = g + i * columns
            for j in 0..<columns { s[j] += row[j] }
        }
    }

    @inlinable
    public static func l2NormalizeRows(_ x: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into y: UnsafeMutablePointer<Self>, norms: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let xr = x + i * columns, yr = y + i * columns
            var s: Self = 0
            for j in 0..<columns { s = Relaxed.multiplyAdd(xr[j], xr[j], s) }
            let norm = Swift.max(s.squareRoot(), epsilon)
            norms[i] = norm
            let inv = 1 / norm
            for j in 0..<columns { yr[j] = xr[j] * inv }
        }
    }

    @inlinable
    public static func l2NormalizeBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, norms: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into dx: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let gr = g + i * columns, yr = y + i * columns, dr = dx + i * columns
            let inv = 1 / norms[i]
            if norms[i] <= epsilon {
                // The clamped branch y = x/ε is linear in x.
                for j in 0..<columns { dr[j] = gr[j] * inv }
                continue
            }
            var yg: Self = 0
            for j in 0..<columns { yg = Relaxed.multiplyAdd(yr[j], gr[j], yg) }
            for j in 0..<columns { dr[j] = (gr[j] - yr[j] * yg) * inv }
        }
    }

    @inlinable
    public static func dropoutMask(into m: UnsafeMutablePointer<Self>, count: Int, dropProbability: Double, generator: inout SeededGenerator) {
        let scale = Self(1 / (1 - dropProbability))
        for i in 0..<count { m[i] = generator.nextUniform() < dropProbability ? 0 : scale }
    }
}
