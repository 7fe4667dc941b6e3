import Foundation
import FuzzSupport
import SwiftMetricLearning

/// The training configuration JSON (`dml train --config`, `config.json`): parsed and laid over the
/// defaults, then validated; and the same bytes as an experiment grid (`dml experiment --config`),
/// expanded into its runs when the grid is small.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ pointer: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput.data(pointer, size)
    if let configuration = try? JSONConfiguration.decode(TrainingConfiguration.self, from: bytes,
                                                         over: TrainingConfiguration(), source: "fuzz.json") {
        _ = try? configuration.validate()
        _ = try? JSONConfiguration.encode(configuration)
    }
    if let json = try? JSONValue.parse(bytes, source: "grid.json"), let grid = try? GridConfig(json: json, source: "grid.json"),
       grid.losses.count * grid.modes.count * grid.seeds.count <= 64 {
        for spec in (try? grid.runSpecs()) ?? [] {
            guard let run = try? JSONEncoder().encode(JSONValue.object(spec.config)) else { continue }
            _ = try? JSONConfiguration.decode(TrainingConfiguration.self, from: run, over: TrainingConfiguration(), source: "grid.json")
        }
    }
    return 0
}
