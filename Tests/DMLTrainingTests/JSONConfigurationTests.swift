import Foundation
import Testing
@testable import DMLTraining

@Suite struct JSONConfigurationTests {
    struct Inner: Codable, Equatable { var rate = 0.1; var name = "adam" }
    struct Outer: Codable, Equatable { var steps = 10; var inner = Inner() }

    @Test func fileKeysOverrideDefaultsRecursively() throws {
        let json = Data(#"{"inner": {"rate": 0.5}}"#.utf8)
        let value = try JSONConfiguration.decode(Outer.self, from: json, over: Outer(), source: "c.json")
        #expect(value == Outer(steps: 10, inner: Inner(rate: 0.5, name: "adam")))
    }

    @Test func unknownKeysAndBadTypesNameTheKey() {
        do {
            _ = try JSONConfiguration.decode(Outer.self, from: Data(#"{"inner": {"rat": 1}}"#.utf8), over: Outer(), source: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("unknown key \"inner.rat\""))
            #expect("\(error)".contains("c.json"))
        }
        do {
            _ = try JSONConfiguration.decode(Outer.self, from: Data(#"{"steps": "many"}"#.utf8), over: Outer(), source: "c.json")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("steps"))
        }
    }
}
