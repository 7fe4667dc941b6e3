import Foundation
import Testing
import DMLNumerics
@testable import DMLNetworks

/// Tensor archives found by the `tensor-archive` fuzzer (scripts/fuzz.sh), each with a valid
/// checksum so that the parser behind it is reached.
@Suite("Tensor archive crafted files")
struct TensorArchiveCraftedTests {
    /// An archive of Float32 tensors given as (name, rows, columns) with no values, CRC appended.
    static func archive(tensors: [(String, UInt64, UInt64)]) -> Data {
        var w = ByteWriter()
        w.bytes(Array("DMLTENSR".utf8))
        w.u32(1)
        w.u32(4)
        w.u64(0)
        w.u64(UInt64(tensors.count))
        for (name, rows, columns) in tensors {
            w.string(name)
            w.u64(rows)
            w.u64(columns)
        }
        w.u32(CRC32.checksum(w.data))
        return w.data
    }

    @Test(arguments: [(1 << 63, 0), (0, .max), (UInt64(Int32.max) + 1, 0)] as [(UInt64, UInt64)])
    func emptyTensorOfAHugeDimension(rows: UInt64, columns: UInt64) {
        // Found by the fuzzer: rows 2⁶³ × 0 columns passed the size check, then trapped converting
        // to Int.
        let e = #expect(throws: TensorArchiveError.self) {
            try TensorArchive<Float>(decoding: Self.archive(tensors: [("m", rows, columns)]), source: "crafted.archive")
        }
        #expect(e == .corrupt(source: "crafted.archive", reason: "tensor m of \(rows)×\(columns), expected dimensions of at most 2147483647"))
    }

    @Test func emptyTensorOfOrdinarySizeStillReads() throws {
        let archive = try TensorArchive<Float>(decoding: Self.archive(tensors: [("m", 0, 5)]), source: "ok.archive")
        #expect(archive.tensors["m"].map { [$0.rows, $0.columns] } == [0, 5])
    }
}
