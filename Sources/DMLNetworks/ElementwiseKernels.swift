import DMLNumerics

extension NetworkScalar {
    public static func fill(_ x: UnsafeMutablePointer<Self>, count: Int, value: Self) {
        x.update(repeating: value, count: count)
    }

    public static func multiply(_ x: UnsafePointer<Self>, _ m: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { y[i] = x[i] * m[i] }
    }

    public static func reluForward(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { let v = x[i]; y[i] = v > 0 ? v : 0 }
    }

    public static func reluBackward(_ g: UnsafePointer<Self>, output y: UnsafePointer<Self>, into dx: UnsafeMutablePointer<Self>, count: Int) {
        for i in 0..<count { dx[i] = y[i] > 0 ? g[i] : 0 }
    }

    public static func addRowVector(_ b: UnsafePointer<Self>, to y: UnsafeMutablePointer<Self>, rows: Int, columns: Int) {
        for i in 0..<rows {
            let row = y + i * columns
            for j in 0..<columns { row[j] += b[j] }
        }
    }

    public static func channelRowSum(_ x: UnsafePointer<Self>, count: Int) -> Self {
        var s: Self = 0
        for i in 0..<count { s += x[i] }
        return s
    }

    public static func accumulateColumnSums(_ g: UnsafePointer<Self>, rows: Int, columns: Int, into s: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let row = g + i * columns
            for j in 0..<columns { s[j] += row[j] }
        }
    }

    public static func l2NormalizeRows(_ x: UnsafePointer<Self>, rows: Int, columns: Int, epsilon: Self, into y: UnsafeMutablePointer<Self>, norms: UnsafeMutablePointer<Self>) {
        for i in 0..<rows {
            let xr = x + i * columns, yr = y + i * columns
            var s: Self = 0
            for j in 0..<columns { s += xr[j] * xr[j] }
            let norm = Swift.max(s.squareRoot(), epsilon)
            norms[i] = norm
            let inv = 1 / norm
            for j in 0..<columns { yr[j] = xr[j] * inv }
        }
    }

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
            for j in 0..<columns { yg += yr[j] * gr[j] }
            for j in 0..<columns { dr[j] = (gr[j] - yr[j] * yg) * inv }
        }
    }

    public static func dropoutMask(into m: UnsafeMutablePointer<Self>, count: Int, dropProbability: Double, generator: inout SeededGenerator) {
        let scale = Self(1 / (1 - dropProbability))
        for i in 0..<count { m[i] = generator.nextUniform() < dropProbability ? 0 : scale }
    }
}
