// Rules changed while `vigil serve` runs (through `vigil rules`, as a child process) decide
// the events polled after the change and none before: serve hears the change on
// "<schema>_rules", compiles the stored rules and swaps the set between batches. A rule that
// does not compile is refused by `vigil rules add` and never reaches the service.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeRuleUpdateTests {
    @Test func ruleChangesWhileServingDecideOnlyLaterEvents() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-rules")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(2_400, topic: topic)
        let chunks = [Array(messages[0..<1_000]), Array(messages[1_000..<1_800]), Array(messages[1_800...])]
        #expect(try await ServeTestSupport.seedModel(target, events: messages) == 1)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.exitWhenIdle = nil
        let stop = StopSignal()
        let telemetry = ServiceTelemetry(configuration: c.telemetry)
        let serving = Task { try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run(stop: stop) }
        func metric(_ prefix: String) -> Double? {
            String(decoding: telemetry.exposition(), as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        func waitFor(_ prefix: String, _ value: Double) async throws -> Bool {
            for _ in 0..<1_200 {
                if metric(prefix) == value { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        let s = quoteIdentifier(target.schema)
        func waitForDecisions(_ count: Int) async throws -> Bool {
            for _ in 0..<1_200 {
                if try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= Int64(count) { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        func cli(_ arguments: [String]) throws -> (status: Int32, errors: String) {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["rules"] + arguments + ["--schema", target.schema]
            var environment = ProcessInfo.processInfo.environment
            environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
            if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
            process.environment = environment
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }

        try await ServeTestSupport.produce(chunks[0], brokers: brokers)
        #expect(try await waitForDecisions(1_000))
        // An expression that does not compile is refused with its position; nothing is saved.
        let refused = try cli(["add", "block_all", "amount >= 0 and cuntry == 'NG'", "--outcome", "block"])
        #expect(refused.status == 65)
        #expect(refused.errors.contains(#"1:17: unknown name "cuntry" (did you mean "country"?)"#))
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).rule_versions") == 0)
        // A rule that blocks everything, enforced: the events polled after it are blocked by it.
        #expect(try cli(["add", "block_all", "amount >= 0", "--outcome", "block"]).status == 0)
        #expect(try await waitFor(#"vigil_rules_active{mode="enforce"}"#, 2))  // with the config file's large_amount
        try await ServeTestSupport.produce(chunks[1], brokers: brokers)
        #expect(try await waitForDecisions(1_800))
        // In shadow it decides nothing any more, but is still recorded.
        #expect(try cli(["shadow", "block_all"]).status == 0)
        #expect(try await waitFor(#"vigil_rules_active{mode="shadow"}"#, 1))
        try await ServeTestSupport.produce(chunks[2], brokers: brokers)
        #expect(try await waitForDecisions(2_400))
        stop.stop()
        let summary = try await serving.value
        #expect(summary.decided == messages.count)

        let rows = try ServeTestSupport.decisionReasons(target.schema)
        let ids = try chunks.map { chunk in try chunk.map { message -> String in
            let object = try JSONSerialization.jsonObject(with: Data(message.value)) as! [String: Any]
            return object["event_id"] as! String
        } }
        #expect(ids[0].allSatisfy { !(rows[$0]?.reasons.contains("rule.block_all") ?? true) })
        #expect(ids[1].allSatisfy { rows[$0]?.decision == "block" && rows[$0]!.reasons.hasPrefix("p:rule.block_all=") })
        #expect(ids[2].allSatisfy { rows[$0]?.reasons.contains("s:rule.block_all=") == true })
        #expect(ids[2].contains { rows[$0]?.decision == "allow" })
        #expect(metric(#"vigil_rule_hits_total{rule="block_all",mode="enforce"}"#) == 800)
        #expect(metric(#"vigil_rule_hits_total{rule="block_all",mode="shadow"}"#) == 600)
        #expect(try ServeTestSupport.scalar("SELECT sum(hits)::bigint FROM \(s).rule_hits_daily WHERE rule = 'block_all' AND mode = 'enforce'") == 800)
        #expect(try ServeTestSupport.scalar("SELECT sum(hits)::bigint FROM \(s).rule_hits_daily WHERE rule = 'block_all' AND mode = 'shadow'") == 600)
    }
}

extension ServeTestSupport {
    /// Every decision's outcome and reasons by event id.
    static func decisionReasons(_ schema: String) throws -> [String: (decision: String, reasons: String)] {
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        var out: [String: (String, String)] = [:]
        for row in try session.query("SELECT event_id, decision, reasons FROM \(quoteIdentifier(schema)).decisions", []) {
            out[try row.decode(0)] = (try row.decode(1), try row.decode(2))
        }
        return out
    }
}
