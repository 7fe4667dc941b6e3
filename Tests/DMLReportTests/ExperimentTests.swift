import DMLNumerics
import Foundation
import Testing
import DMLRunDirectory
import DMLTraining
import MetricLearning
@testable import DMLReport

@Suite struct ExperimentSummaryTests {
    private func run(_ loss: String, _ mode: String, _ seed: Int, _ r1: Double, nmi: Double = 0.5) -> RunResult {
        RunResult(identity: RunIdentity(loss: loss, mode: mode, seed: seed),
                  metrics: ["recall@1": r1, "recall@2": r1 + 0.1, "nmi": nmi, "f1": 0.2, "map@r": 0.3, "loss_final": 9],
                  directory: "\(loss)/\(mode)/\(seed)")
    }

    private var runs: [RunResult] {
        [run("triplet", "hnpm+ee", 1, 0.62), run("triplet", "plain", 1, 0.60), run("triplet", "plain", 2, 0.58),
         run("triplet", "hnpm+ee", 2, 0.63), run("triplet", "plain", 3, 0.61), run("triplet", "hnpm+ee", 3, 0.61),
         run("npair", "plain", 1, 0.70), run("npair", "hnpm", 1, 0.71)]
    }

    @Test func withoutBaselineRunsTheGainSectionSaysSo() throws {
        let s = try ExperimentSummary(runs: [run("lifted", "hnpm+ee", 0, 0.5), run("lifted", "hnpm+symm", 0, 0.65)])
        #expect(s.gains.isEmpty)
        #expect(s.markdown.hasSuffix("No gains: no mode has a run with the same loss and seed in mode plain to pair with.\n"))
        #expect(!s.markdown.contains("### Recall@1"))
        #expect(s.html.contains("No gains"))
    }

    @Test func meanAndStandardDeviationPerCell() throws {
        let s = try ExperimentSummary(runs: runs)
        #expect(s.losses == ["triplet", "npair"])
        #expect(s.modes == ["plain", "hnpm", "hnpm+ee"])
        #expect(s.metricKeys == ["recall@1", "recall@2", "nmi", "f1", "map@r"])
        #expect(s.cells.map { "\($0.loss)/\($0.mode)" } == ["triplet/plain", "triplet/hnpm+ee", "npair/plain", "npair/hnpm"])
        let plain = s.cells[0].statistics["recall@1"]!
        // (0.60, 0.58, 0.61): mean 0.59666…, deviations 0.00333, −0.01667, 0.01333; Σ² = 0.000466…; /2; sqrt.
        #expect(abs(plain.mean - 1.79 / 3) < 1e-12)
        #expect(abs(plain.standardDeviation - (0.00046666666666666666 / 2).squareRoot()) < 1e-9)
        #expect(s.cells[0].seeds == [1, 2, 3])
    }

    @Test func pairedGainsOverPlain() throws {
        let s = try ExperimentSummary(runs: runs)
        let gain = try #require(s.gains.first { $0.loss == "triplet" && $0.mode == "hnpm+ee" && $0.metric == "recall@1" })
        // Differences by seed: 0.62−0.60, 0.63−0.58, 0.61−0.61 = 0.02, 0.05, 0.00.
        let reference = PairedComparison(differences: [0.02, 0.05, 0.0])
        #expect(gain.seeds == [1, 2, 3])
        #expect(abs(gain.comparison.meanDifference - 0.07 / 3) < 1e-12)
        #expect(abs(gain.comparison.t - reference.t) < 1e-9)
        #expect(gain.comparison.degreesOfFreedom == 2)
        // ν = 2 closed form: p = 1 − |t| / √(2 + t²).
        let t = gain.comparison.t
        #expect(abs(gain.comparison.pValue - (1 - abs(t) / (2 + t * t).squareRoot())) < 1e-9)
        let single = try #require(s.gains.first { $0.loss == "npair" && $0.mode == "hnpm" && $0.metric == "recall@1" })
        #expect(single.comparison.count == 1 && single.comparison.pValue.isNaN)
        #expect(!s.gains.contains { $0.mode == "plain" })
        #expect(s.gains.count == (1 + 1) * 5)
    }

    @Test func renderings() throws {
        let s = try ExperimentSummary(runs: runs)
        let md = s.markdown
        #expect(md.contains("| triplet | plain | 3 | 59.67 ± 1.53 |"))
        #expect(md.contains("### Recall@1"))
        // d = (2, 5, 0) pp: mean 2.33, sd 2.52, t = 1.61, df 2, p = 0.2495 (scipy.stats.ttest_rel).
        #expect(md.contains("| triplet | hnpm+ee | 3 | +2.33 | 2.52 | 1.61 | 2 | 0.250 |"))
        let csvLines = s.csv.split(separator: "\n")
        #expect(csvLines.count == 1 + 4)
        #expect(csvLines[0] == "loss,mode,runs,seeds,recall@1_mean,recall@1_std,recall@2_mean,recall@2_std,nmi_mean,nmi_std,f1_mean,f1_std,map@r_mean,map@r_std")
        #expect(csvLines[1].hasPrefix("triplet,plain,3,1;2;3,0.59666"))
        #expect(csvLines[4].hasPrefix("npair,hnpm,1,1,0.71,,"))
        let gainLines = s.gainsCSV.split(separator: "\n")
        #expect(gainLines.count == 1 + 10)
        #expect(gainLines[1].hasPrefix("triplet,hnpm+ee,plain,recall@1,3,0.0233"))

        let xml = try XMLInspector(document: s.html)
        #expect(xml.all("svg").count == 5)
        // Bars: 2 losses with (plain, hnpm+ee) for triplet and (plain, hnpm) for npair: 4 bars per metric.
        #expect(xml.all("rect", class: "bar").count == 4 * 5)
        // Error bars only where there are ≥ 2 seeds and a non-zero spread: triplet plain and hnpm+ee for
        // recall@1 and recall@2 (nmi, f1 and map@r are constant).
        #expect(xml.all("g", class: "error-bar").count == 4)
        #expect(xml.all("table").count == 1 + 5)
    }

    @Test func duplicateRunsAreAnError() {
        #expect(throws: ReportError.self) { try ExperimentSummary(runs: [run("a", "plain", 1, 0.5), run("a", "plain", 1, 0.6)]) }
    }
}

@Suite struct GridConfigTests {
    @Test func parsesAndExpands() throws {
        let json = try JSONValue.parse(Data(#"""
        {"losses": ["triplet", "npair"], "modes": ["plain", "hnpm+ee"], "seeds": [1, 2],
         "base": {"iterations": 100, "loss": {"kind": "x", "lifted": {"margin": 0.1}}}}
        """#.utf8), source: "grid.json")
        let grid = try GridConfig(json: json, source: "grid.json")
        let specs = try grid.runSpecs()
        #expect(specs.count == 8)
        #expect(specs.map(\.directoryName).prefix(3) == ["triplet_plain_seed1", "triplet_plain_seed2", "triplet_hnpm-ee_seed1"])
        #expect(specs[2].config["mode"] == nil)
        #expect(specs[2].config["seed"] == .number(1))
        #expect(specs[2].config["iterations"] == .number(100))
        #expect(specs[2].config["loss"] == .object(["kind": .string("triplet"), "mining": .string("hnpm"),
                                                    "synthesis": .string("ee"), "lifted": .object(["margin": .number(0.1)])]))
        #expect(try RunIdentity(config: .object(specs[5].config), source: "c") == specs[5].identity)
        #expect(try GridConfig(json: grid.json, source: "again") == grid)
    }

    @Test func rejectsBadGrids() throws {
        func error(_ text: String) -> ReportError? {
            do {
                _ = try GridConfig(json: JSONValue.parse(Data(text.utf8), source: "g.json"), source: "g.json")
                return nil
            } catch { return error as? ReportError }
        }
        #expect(error(#"{"losses": ["a"], "modes": ["plain"], "seeds": [1, 1]}"#)?.source == #"g.json: field "seeds"[1]"#)
        #expect(error(#"{"losses": ["a"], "modes": ["plain"], "seeds": [1.5]}"#)?.source == #"g.json: field "seeds"[0]"#)
        #expect(error(#"{"losses": [], "modes": ["plain"], "seeds": [1]}"#)?.source == #"g.json: field "losses""#)
        #expect(error(#"{"losses": ["a"], "mode": ["plain"], "seeds": [1]}"#)?.source == #"g.json: field "mode""#)
        #expect(error(#"{"losses": ["a"], "modes": ["plain"], "seeds": [1], "base": 3}"#)?.source == #"g.json: field "base""#)
        let clash = GridConfig(losses: ["a"], modes: ["x+y", "x-y"], seeds: [1])
        #expect(throws: ReportError.self) { try clash.runSpecs() }
    }

    @Test func identityReadsLossNamesAndRejectsMissingFields() throws {
        #expect(try RunIdentity(config: .object(["loss": .string("ms"), "mode": .string("hnpm"), "seed": .number(4)]), source: "c")
            == RunIdentity(loss: "ms", mode: "hnpm", seed: 4))
        do {
            _ = try RunIdentity(config: .object(["loss": .string("ms"), "seed": .number(4)]), source: "c.json")
            Issue.record("expected an error")
        } catch let e as RunFormatError {
            #expect(e.source == "c.json: field \"mode\"")
        }
        #expect(throws: RunFormatError.self) {
            try RunIdentity(config: .object(["loss": .string("ms"), "mode": .string("plain"), "seed": .number(0.5)]), source: "c")
        }
    }
}

@Suite struct ExperimentRunnerTests {
    /// A fake trainer: writes config.json from the spec and metrics that depend on loss, mode and seed.
    /// The spec's configuration as `dml train` resolves it: laid over the defaults.
    private func trainingConfiguration(_ config: [String: JSONValue]) throws -> TrainingConfiguration {
        try JSONConfiguration.decode(TrainingConfiguration.self, from: Data(JSONValue.object(config).jsonText.utf8),
                                     over: TrainingConfiguration(), source: "grid")
    }

    /// A fake trainer: writes config.json from the spec and metrics that depend on loss, mode and
    /// seed, with the run-directory writer `dml train` uses.
    private func fakeTrain(_ spec: RunSpec, _ dir: String) throws {
        let files = RunFiles(dir)
        try files.writeConfiguration(trainingConfiguration(spec.config))
        let bonus = spec.identity.mode == "plain" ? 0.0 : 0.02 + 0.01 * Double(spec.identity.seed % 2)
        try files.writeMetrics(RunMetrics(metrics: ["recall@1": 0.5 + bonus + 0.001 * Double(spec.identity.seed),
                                                    "nmi": 0.6, "f1": 0.2, "map@r": 0.3], iteration: 10))
    }

    @Test func resumesAfterAnInterruptionAndWritesTheSummary() throws {
        let dir = RunFixture.temporaryPath("experiment")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let grid = GridConfig(losses: ["triplet", "lifted"], modes: ["plain", "hnpm+symm"], seeds: [1, 2, 3])
        let runner = ExperimentRunner(grid: grid, directory: dir)

        struct Interrupted: Error {}
        var trained = [String]()
        #expect(throws: Interrupted.self) {
            try runner.run { spec, path in
                if trained.count == 5 { throw Interrupted() }
                try fakeTrain(spec, path)
                trained.append(spec.directoryName)
            }
        }
        #expect(trained.count == 5)
        #expect(!FileManager.default.fileExists(atPath: dir + "/summary.md"))

        var resumed = [String]()
        var skipped = 0
        let summary = try runner.run(train: { spec, path in
            try fakeTrain(spec, path)
            resumed.append(spec.directoryName)
        }, progress: { event in
            if case .skipped = event { skipped += 1 }
        })
        #expect(skipped == 5)
        #expect(resumed.count == 12 - 5)
        #expect(Set(trained).isDisjoint(with: resumed))
        #expect(Set(trained + resumed) == Set(try grid.runSpecs().map(\.directoryName)))
        for name in ["summary.md", "summary.csv", "summary_gains.csv", "summary.html", "grid.json"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + name))
        }
        #expect(summary.runs.count == 12)
        let gain = try #require(summary.gains.first { $0.loss == "lifted" && $0.mode == "hnpm+symm" && $0.metric == "recall@1" })
        #expect(abs(gain.comparison.meanDifference - (0.03 + 0.02 + 0.03) / 3) < 1e-12)
        #expect(try GridConfig(contentsOf: dir + "/grid.json") == grid)

        // A third pass trains nothing and writes the same summary.
        var third = 0
        let again = try runner.run { _, _ in third += 1 }
        #expect(third == 0)
        #expect(again.markdown == summary.markdown)
        _ = try XMLInspector(document: try String(contentsOfFile: dir + "/summary.html", encoding: .utf8))
    }

    @Test func aTrainerThatWritesNoMetricsIsAnError() throws {
        let dir = RunFixture.temporaryPath("nometrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = ExperimentRunner(grid: GridConfig(losses: ["a"], modes: ["plain"], seeds: [1]), directory: dir)
        #expect(throws: ReportError.self) { try runner.run { _, _ in } }
        #expect(!ExperimentRunner.isFinished(runDirectory: dir + "/a_plain_seed1"))
    }

    @Test func aRunWhoseConfigDisagreesWithTheGridIsAnError() throws {
        let dir = RunFixture.temporaryPath("mismatch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = ExperimentRunner(grid: GridConfig(losses: ["lifted"], modes: ["plain"], seeds: [1]), directory: dir)
        do {
            try runner.run { spec, path in
                var config = try trainingConfiguration(spec.config)
                config.seed = 7
                try RunFiles(path).writeConfiguration(config)
                try RunFiles(path).writeMetrics(RunMetrics(metrics: ["recall@1": 0.5], iteration: 10))
            }
            Issue.record("expected an error")
        } catch let e as ReportError {
            #expect(e.source.hasSuffix("lifted_plain_seed1/config.json"))
        }
    }
}

@Suite struct TrainingConfigIdentityTests {
    @Test func modeIsNamedFromMiningAndSynthesis() throws {
        for (mining, synthesis, mode) in [("plain", "none", "plain"), ("hnpm", "none", "hnpm"), ("hnpm", "ee", "hnpm+ee"),
                                          ("hnpm", "symm", "hnpm+symm")] {
            let config = JSONValue.object(["loss": .object(["kind": .string("lifted"), "mining": .string(mining),
                                                            "synthesis": .string(synthesis)]), "seed": .number(2)])
            #expect(try RunIdentity(config: config, source: "c") == RunIdentity(loss: "lifted", mode: mode, seed: 2))
            #expect(RunIdentity.miningAndSynthesis(ofMode: mode)! == (mining, synthesis))
        }
        #expect(throws: ReportError.self) { try RunSpec(identity: RunIdentity(loss: "a", mode: "turbo", seed: 1), base: [:]) }
    }

    /// The identity read from config.json as training writes it: every loss in every standard mode.
    @Test func identityOfTheConfigurationTrainingWrites() throws {
        let dir = RunFixture.temporaryPath("identity")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for loss in LossKind.allCases {
            for (seed, mode) in RunIdentity.standardModes.enumerated() {
                let configuration = RunFixture.configuration(loss: loss.rawValue, mode: mode, seed: seed, output: dir)
                #expect(configuration.loss.modeDescription == mode)
                try RunFiles(dir).writeConfiguration(configuration)
                #expect(try RunIdentity(runDirectory: dir) == RunIdentity(loss: loss.rawValue, mode: mode, seed: seed))
            }
        }
    }
}
