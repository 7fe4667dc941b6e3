import Foundation
import Testing
import DMLNumerics
@testable import MetricLearning

/// The vectorized exp against the scalar libm one.
@Suite struct VectorMathTests {
    /// The distance in ulp between two finite values of the same sign (0 when equal).
    static func ulps(_ a: Float, _ b: Float) -> Int { abs(Int(Int32(bitPattern: a.bitPattern)) - Int(Int32(bitPattern: b.bitPattern))) }
    static func ulps(_ a: Double, _ b: Double) -> Int64 {
        let d = Int64(bitPattern: a.bitPattern) &- Int64(bitPattern: b.bitPattern)
        return d < 0 ? -d : d
    }

    static func exponentiated<T: BLASScalar>(_ values: [T]) -> [T] {
        var out = values
        out.withUnsafeMutableBufferPointer { VectorMath.exponentiate($0.baseAddress!, count: $0.count) }
        return out
    }

    @Test func floatExpIsWithinItsUlpBoundOfScalarExp() {
        // The range the losses use (arguments ≤ 0 after the max shift) and a bit above.
        let inputs = (0..<20_001).map { Float(-87 + Double($0) * 0.00447) }
        let out = Self.exponentiated(inputs)
        var worst = 0
        for (x, e) in zip(inputs, out) { worst = max(worst, Self.ulps(e, Foundation.expf(x))) }
        // glibc's scalar expf is correctly rounded but for rare cases: 4 + 1 ulp apart at most.
        #expect(worst <= VectorMath.expUlpBound + 1, "\(VectorMath.variant): \(worst) ulp")
        #expect(VectorMath.variant != "scalar" || worst == 0)
    }

    @Test func doubleExpIsWithinItsUlpBoundOfScalarExp() {
        let inputs = (0..<20_001).map { -700 + Double($0) * 0.0355 }
        let out = Self.exponentiated(inputs)
        var worst: Int64 = 0
        for (x, e) in zip(inputs, out) { worst = max(worst, Self.ulps(e, Foundation.exp(x))) }
        #expect(worst <= Int64(VectorMath.expUlpBound + 1), "\(VectorMath.variant): \(worst) ulp")
    }

    @Test func specialValues() {
        let v = Self.exponentiated([0, -.infinity, -200, 1] as [Float])
        #expect(v[0] == 1 && v[1] == 0 && v[2] == 0)
        #expect(Self.ulps(v[3], Float(M_E)) <= VectorMath.expUlpBound)
        #expect(Self.exponentiated([0, -.infinity, -800] as [Double]) == [1, 0, 0])
    }

    @Test func aValueDoesNotDependOnItsPositionOrTheBufferLength() {
        let inputs = (0..<37).map { Float(-3 + Double($0) * 0.173) }
        let full = Self.exponentiated(inputs)
        for length in 1...inputs.count {
            for start in [0, 1, 3] where start + length <= inputs.count {
                let part = Self.exponentiated(Array(inputs[start..<(start + length)]))
                #expect(part.map(\.bitPattern) == full[start..<(start + length)].map(\.bitPattern), "start \(start) length \(length)")
            }
        }
    }

    @Test func theVectorizedLogOnePlusSumExpMatchesTheScalarOne() {
        var rng = SeededGenerator(seed: 5)
        for count in [1, 3, 8, 13, 100] {
            let values: Matrix<Double> = rng.normalMatrix(rows: 1, columns: count)
            var scalar = values.elements.map { Float($0 * 4) }, vector = scalar
            let a = scalar.withUnsafeMutableBufferPointer { StableMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: count) }
            let b = vector.withUnsafeMutableBufferPointer { VectorMath.logOnePlusSumExp(overwritingWithWeights: $0.baseAddress!, count: count) }
            #expect(abs(a - b) <= 8 * a.ulp, "count \(count)")
            for k in 0..<count { #expect(abs(scalar[k] - vector[k]) <= 16 * scalar[k].ulp, "count \(count) term \(k)") }
        }
    }
}
