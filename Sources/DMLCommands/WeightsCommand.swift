import ArgumentParser
import Foundation
import SwiftMetricLearning

/// `dml weights FILE [--out FILE.safetensors]`: lists the tensors of a weight file
/// (safetensors, PyTorch zip or legacy checkpoint; the format is told from the content) and
/// optionally converts it to safetensors.
public struct WeightsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "List the tensors of a weight file (safetensors, PyTorch zip or legacy checkpoint) or convert it to safetensors.",
        discussion: "Prints one line per tensor in file order: name, dtype, shape, element count; then the total. A checkpoint whose top-level dict holds the state dict under 'state_dict' or 'model' is read from there. PyTorch pickles are evaluated by a safe unpickler that allows only the globals of a tensor state dict; nothing in the file is executed."
    )

    @Argument(help: "The weight file: .safetensors, or a PyTorch .pth/.pt/.bin checkpoint.")
    var file: String

    @Option(name: .long, help: "Also write every tensor to this safetensors file (atomically, sorted by name).")
    var out: String?

    /// The command with its default options (filled in by the argument parser).
    public init() {}

    /// What the command read (and wrote).
    public struct Report: Equatable {
        /// One listed tensor.
        public struct Row: Equatable {
            public let name: String
            public let dtype: String
            public let shape: [Int]
            public let elementCount: Int
        }
        public let format: WeightFileFormat
        public let stateDictKey: String?
        public let rows: [Row]
        /// `Σ elementCount` over the rows.
        public let totalElements: Int
        /// The safetensors file written, when `--out` was given.
        public let written: String?
    }

    /// Reads the file (and writes `--out`); throws `WeightFileError` naming the file on bad input.
    public func execute() throws -> Report {
        let contents = try WeightFile.read(path: file)
        let rows = contents.names.map { name -> Report.Row in
            let t = contents.tensors[name]!
            return Report.Row(name: name, dtype: t.elementType.rawValue, shape: t.shape, elementCount: t.elementCount)
        }
        if let out {
            var metadata = contents.metadata
            if contents.format != .safetensors { metadata["format"] = "pt" }
            try SafeTensors.write(contents.tensors, metadata: metadata, to: out)
        }
        return Report(format: contents.format, stateDictKey: contents.stateDictKey, rows: rows,
                      totalElements: rows.reduce(0) { $0 + $1.elementCount }, written: out)
    }

    /// The listing as printed: a header line, aligned rows, the total.
    public static func render(_ report: Report, file: String) -> String {
        let shapes = report.rows.map { "[" + $0.shape.map(String.init).joined(separator: ", ") + "]" }
        let nameWidth = max(4, report.rows.map(\.name.count).max() ?? 0)
        let shapeWidth = max(5, shapes.map(\.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var lines = ["\(file): \(report.format.rawValue)" + (report.stateDictKey.map { ", state dict under '\($0)'" } ?? "")
            + ", \(report.rows.count) tensors"]
        lines.append(pad("name", nameWidth) + "  " + pad("dtype", 5) + "  " + pad("shape", shapeWidth) + "  elements")
        for (row, shape) in zip(report.rows, shapes) {
            lines.append(pad(row.name, nameWidth) + "  " + pad(row.dtype, 5) + "  " + pad(shape, shapeWidth) + "  \(row.elementCount)")
        }
        lines.append("total: \(report.totalElements) elements (\(String(format: "%.2f", Double(report.totalElements) / 1e6)) M) in \(report.rows.count) tensors")
        if let written = report.written { lines.append("wrote \(written)") }
        return lines.joined(separator: "\n")
    }

    /// Prints the listing.
    public func run() throws {
        print(Self.render(try execute(), file: file))
    }
}
