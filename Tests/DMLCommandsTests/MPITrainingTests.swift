import DMLRunDirectory
import Foundation
import Testing
import DMLNumerics
import DMLTraining

/// Debian's `mpirun` (package openmpi-bin, installed by scripts/setup.sh), if present.
let installedMPIRun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// `mpirun -np N dml train` on the real executable: the ranks must reproduce the single-process
/// run with the same global batch (SPEC §9), and a killed rank must end the whole job.
@Suite(.serialized, .enabled(if: installedMPIRun != nil, "mpirun (Debian openmpi-bin) is not installed"))
struct MPITrainingTests {
    /// `mpirun -np N` with what a root user on a 2-core machine needs.
    static func launch(_ ranks: Int, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(installedMPIRun))
        process.arguments = ["--oversubscribe", "-np", "\(ranks)", try #require(KillResumeTests.executable)] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_mpi_yield_when_idle"] = "1"
        process.environment = environment
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func arguments(data: String, output: String, mode: [String], iterations: Int = 8) -> [String] {
        ["train", "--dataset", "npy", "--data-root", data, "--iterations", "\(iterations)", "--eval-every", "4",
         "--log-every", "1", "--classes-per-batch", "4", "--samples-per-class", "6", "--embedding-size", "8",
         "--loss", "lifted", "--lr", "0.01", "--threads", "1", "--loader-threads", "0", "--no-report", "--quiet",
         "-o", output] + mode
    }

    static func stepLosses(_ directory: String) throws -> [Double] {
        try RunLog.read(from: directory + "/log.jsonl").compactMap { if case .step(let s) = $0 { s.loss } else { nil } }
    }

    @Test(arguments: [[String](), ["--mining", "hnpm", "--synthesis", "ee"], ["--mining", "hnpm", "--synthesis", "symm"]])
    func ranksReproduceTheSingleProcessRun(mode: [String]) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dml-mpi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try KillResumeTests.writeData(into: root)
        let single = try KillResumeTests.start(try #require(KillResumeTests.executable),
                                               Self.arguments(data: root, output: root + "/one", mode: mode), log: root + "/one.log")
        single.waitUntilExit()
        #expect(single.terminationStatus == 0)
        let reference = try Self.stepLosses(root + "/one")
        #expect(reference.count == 8)
        let referenceModel = try Checkpoint(contentsOf: root + "/one/checkpoints/last.ckpt").tensors.entries(withPrefix: "model.")
        for ranks in [2, 3] {
            let output = root + "/np\(ranks)"
            let job = try Self.launch(ranks, Self.arguments(data: root, output: output, mode: mode), log: output + ".log")
            job.waitUntilExit()
            let log = (try? String(contentsOfFile: output + ".log", encoding: .utf8)) ?? ""
            #expect(job.terminationStatus == 0, "\(ranks) ranks: \(log)")
            let losses = try Self.stepLosses(output)
            #expect(losses.count == reference.count)
            for (a, b) in zip(losses, reference) { #expect(abs(a - b) <= 1e-5 * abs(b), "\(ranks) ranks: loss \(a) vs \(b)") }
            let model = try Checkpoint(contentsOf: output + "/checkpoints/last.ckpt").tensors.entries(withPrefix: "model.")
            #expect(model.tensors.keys.sorted() == referenceModel.tensors.keys.sorted())
            for (name, expected) in referenceModel.tensors {
                let got = try #require(model.tensors[name])
                let scale = max(expected.elements.map { abs(Double($0)) }.max() ?? 0, 1e-6)
                #expect(Double(got.maxAbsDifference(expected)) <= 1e-5 * scale, "\(ranks) ranks: \(name)")
            }
            let config = try String(contentsOfFile: output + "/config.json", encoding: .utf8)
            #expect(config.contains("\"processes\" : \(ranks)"))
            let first = try RunLog.read(from: output + "/log.jsonl").first
            #expect(first == .start(processes: ranks))
        }
    }

    /// Six classes of 8×8 grayscale images as the four IDX files (classes 0–3 train, 4–5 held
    /// out), each class a brighter square at its own place over noise; and a configuration file
    /// making the small CNN two narrow blocks (Conv → BatchNorm → ReLU → MaxPool → Conv →
    /// BatchNorm → ReLU → GlobalAvgPool → Linear → L2).
    static func writeImageData(into directory: String) throws {
        var rng = SeededGenerator(seed: 5)
        func file(_ shape: [Int], _ values: [UInt8]) -> Data {
            var d = Data([0, 0, 0x08, UInt8(shape.count)])
            for s in shape { d.append(contentsOf: withUnsafeBytes(of: UInt32(s).bigEndian, Array.init)) }
            return d + Data(values)
        }
        for (stem, perClass) in [("train", 10), ("t10k", 6)] {
            var pixels = [UInt8](), labels = [UInt8]()
            for c in 0..<6 {
                for _ in 0..<perClass {
                    for y in 0..<8 {
                        for x in 0..<8 {
                            let inside = (y / 4) == (c / 3) && (x / 3) == (c % 3)
                            pixels.append(UInt8(max(0, min(255, (inside ? 160 : 60) + 40 * rng.nextNormal()))))
                        }
                    }
                    labels.append(UInt8(c))
                }
            }
            try file([pixels.count / 64, 8, 8], pixels).write(to: URL(fileURLWithPath: directory + "/\(stem)-images-idx3-ubyte"))
            try file([labels.count], labels).write(to: URL(fileURLWithPath: directory + "/\(stem)-labels-idx1-ubyte"))
        }
        try Data(#"{"model": {"convolutionWidths": [4, 8]}}"#.utf8).write(to: URL(fileURLWithPath: directory + "/cnn.json"))
    }

    static func imageArguments(data: String, output: String, batchNorm: String, optimizer: String = "adam") -> [String] {
        ["train", "--dataset", "mnist", "--data-root", data, "--train-classes", "0-3", "--config", data + "/cnn.json",
         "--iterations", "6", "--eval-every", "3", "--log-every", "1", "--classes-per-batch", "4", "--samples-per-class", "3",
         "--embedding-size", "8", "--loss", "lifted", "--lr", "0.01", "--threads", "1", "--loader-threads", "0",
         "--batch-norm", batchNorm, "--optimizer", optimizer, "--no-report", "--quiet", "-o", output]
    }

    /// The small CNN with batch norm: 2 ranks in `sync` mode reproduce the single-process run
    /// (every step's loss, every final parameter and running statistic), `local` mode does not,
    /// and both record their mode in config.json.
    ///
    /// Measured worst relative differences after 6 steps: with SGD 2.9e-6 (a batch-norm β), with
    /// Adam 1.75e-5 (`embedding.bias`, whose gradient is near 0 so that Adam's `m/√v` turns its
    /// rounding into a full-size step; the losses agree to 3e-7), hence Adam's bound of 5e-5.
    /// Local mode differs by 0.9 (a β) and 8% in the loss.
    @Test(arguments: [("sgd", 1e-5), ("adam", 5e-5)])
    func synchronizedBatchNormReproducesTheSingleProcessRun(optimizer: String, bound: Double) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dml-mpi-bn-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeImageData(into: root)
        let single = try KillResumeTests.start(try #require(KillResumeTests.executable),
                                               Self.imageArguments(data: root, output: root + "/one", batchNorm: "sync", optimizer: optimizer),
                                               log: root + "/one.log")
        single.waitUntilExit()
        #expect(single.terminationStatus == 0, "\((try? String(contentsOfFile: root + "/one.log", encoding: .utf8)) ?? "")")
        let reference = try Self.stepLosses(root + "/one")
        #expect(reference.count == 6)
        let referenceModel = try Checkpoint(contentsOf: root + "/one/checkpoints/last.ckpt").tensors.entries(withPrefix: "model.")
        #expect(referenceModel.tensors.keys.contains("block2.bn.running_var"))
        var worst = [String: Double]()
        for mode in optimizer == "adam" ? ["sync", "local"] : ["sync"] {
            let output = root + "/np2-\(mode)"
            let job = try Self.launch(2, Self.imageArguments(data: root, output: output, batchNorm: mode, optimizer: optimizer),
                                      log: output + ".log")
            job.waitUntilExit()
            let log = (try? String(contentsOfFile: output + ".log", encoding: .utf8)) ?? ""
            #expect(job.terminationStatus == 0, "\(mode): \(log)")
            let losses = try Self.stepLosses(output)
            #expect(losses.count == reference.count)
            var w = 0.0
            for (a, b) in zip(losses, reference) { w = max(w, abs(a - b) / abs(b)) }
            let model = try Checkpoint(contentsOf: output + "/checkpoints/last.ckpt").tensors.entries(withPrefix: "model.")
            #expect(model.tensors.keys.sorted() == referenceModel.tensors.keys.sorted())
            for (name, expected) in referenceModel.tensors {
                let got = try #require(model.tensors[name])
                let scale = max(expected.elements.map { abs(Double($0)) }.max() ?? 0, 1e-6)
                w = max(w, Double(got.maxAbsDifference(expected)) / scale)
            }
            worst[mode] = w
            let config = try String(contentsOfFile: output + "/config.json", encoding: .utf8)
            #expect(config.contains("\"batchNorm\" : \"\(mode)\""))
            // Step records of a multi-process run carry the collective times.
            let line = try String(contentsOfFile: output + "/log.jsonl", encoding: .utf8).split(separator: "\n")
                .first { $0.contains("\"event\":\"step\"") }
            #expect(line?.contains("\"batchnorm_sync_seconds\"") == true && line?.contains("\"allgather_seconds\"") == true)
        }
        #expect(worst["sync"]! <= bound, "sync: worst relative difference \(worst["sync"]!)")
        if let local = worst["local"] { #expect(local > 1e-3, "local: worst relative difference \(local)") }
    }

    /// Ranks given different `--batch-norm` settings (Open MPI's `:` syntax starts one of each)
    /// stop at start with the configuration mismatch.
    @Test func ranksWithDifferentBatchNormModesAreRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dml-mpi-bnmix-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeImageData(into: root)
        let executable = try #require(KillResumeTests.executable)
        let job = try Self.launch(1, Self.imageArguments(data: root, output: root + "/run", batchNorm: "sync")
                                      + [":", "-np", "1", executable]
                                      + Self.imageArguments(data: root, output: root + "/run", batchNorm: "local"),
                                  log: root + "/run.log")
        job.waitUntilExit()
        #expect(job.terminationStatus != 0)
        let log = (try? String(contentsOfFile: root + "/run.log", encoding: .utf8)) ?? ""
        #expect(log.contains("the training configuration differs between ranks"), "\(log)")
    }

    @Test func aKilledRankEndsTheJob() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dml-mpi-kill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try KillResumeTests.writeData(into: root)
        let job = try Self.launch(2, Self.arguments(data: root, output: root + "/run", mode: [], iterations: 1_000_000),
                                  log: root + "/run.log")
        // Wait for training to start, then kill one rank (a child process of mpirun).
        let deadline = Date().addingTimeInterval(60)
        var children: [Int32] = []
        while Date() < deadline && job.isRunning {
            children = Self.children(of: job.processIdentifier)
            if children.count >= 2, FileManager.default.fileExists(atPath: root + "/run/log.jsonl") { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let victim = try #require(children.last, "no rank started")
        kill(victim, SIGKILL)
        let killedAt = Date()
        while job.isRunning && Date().timeIntervalSince(killedAt) < 30 { Thread.sleep(forTimeInterval: 0.1) }
        if job.isRunning { job.terminate() }
        #expect(Date().timeIntervalSince(killedAt) < 30, "the job did not end within 30 s of a rank's death")
        job.waitUntilExit()
        #expect(job.terminationStatus != 0)
    }

    /// The pids whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }.sorted()
    }
}
