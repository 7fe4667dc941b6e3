import Testing
import DMLBenchmarks

/// `/proc/stat`'s `cpu` line read by hand-written examples.
@Suite struct HostStealTests {
    @Test("The cpu line's eight counters: total and steal; the share of a later reading")
    func parsesAndDivides() throws {
        let before = try #require(HostCPUTime.parse("cpu  100 5 20 800 10 0 5 60 7 0\ncpu0 50 2 10 400 5 0 2 30 0 0\n"))
        #expect(before.total == 100 + 5 + 20 + 800 + 10 + 0 + 5 + 60)   // guest (7) is inside user already
        #expect(before.steal == 60)
        let later = try #require(HostCPUTime.parse("cpu  200 5 30 1600 10 0 5 160 7 0\n"))
        // Δtotal = 100 + 10 + 800 + 100 = 1010, Δsteal = 100.
        #expect(before.stealShare(until: later) == 100.0 / 1010.0)
        #expect(before.stealShare(until: before) == nil)
    }

    @Test("A text without a full cpu line gives nil")
    func rejectsShortLines() {
        #expect(HostCPUTime.parse("") == nil)
        #expect(HostCPUTime.parse("cpu0 1 2 3 4 5 6 7 8\n") == nil)
        #expect(HostCPUTime.parse("cpu  1 2 3 4 5 6 7\n") == nil)
        #expect(HostCPUTime.parse("cpu  1 2 x 4 5 6 7 8\n") == nil)
    }
}
