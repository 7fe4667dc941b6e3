import Foundation
import Testing
import DMLNumerics
@testable import DMLTraining

/// The trainer owns its pool; runs at a fixed thread count repeat exactly (with and without a
/// background loader, which must not change the numbers).
@Suite struct TrainerThreadsTests {
    func finalEmbeddings(threads: Int, loaderThreads: Int) throws -> Data {
        let data = try noisyClusterDataset()
        let directory = temporaryDirectory("threads\(threads)")
        var c = smallConfiguration(directory)
        c.iterations = 20
        c.evalEvery = 10
        c.threads = threads
        c.loaderThreads = loaderThreads
        let trainer = try Trainer(configuration: c, dataset: data)
        #expect(trainer.pool.threadCount == threads)
        try trainer.run(progress: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try Data(contentsOf: URL(fileURLWithPath: directory + "/embeddings/test_embeddings.npy"))
    }

    @Test("Two runs at the same thread count give the same embeddings", arguments: [1, 2, 3])
    func repeatsAtFixedThreadCount(threads: Int) throws {
        #expect(try finalEmbeddings(threads: threads, loaderThreads: 1) == finalEmbeddings(threads: threads, loaderThreads: 0))
    }

    @Test("Loader threads come out of the thread budget")
    func loaderThreadsRule() {
        var c = TrainingConfiguration()
        c.threads = 1
        c.loaderThreads = 2
        #expect(c.effectiveLoaderThreads == 0)
        c.threads = 4
        #expect(c.effectiveLoaderThreads == 2)
        c.loaderThreads = 0
        #expect(c.effectiveLoaderThreads == 0)
        #expect(TrainingConfiguration().threads == ThreadBudget.availableCores)
    }
}
