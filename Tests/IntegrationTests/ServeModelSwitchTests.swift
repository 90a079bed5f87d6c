// `vigil models promote` and `rollback` (the CLI, as a child process) take effect while
// the pipeline runs: later rows carry the version made live.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeModelSwitchTests {
    @Test func promoteAndRollbackThroughTheCLITakeEffectWhileServing() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-models")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(2_400, topic: topic)
        let chunks = [Array(messages[0..<1_000]), Array(messages[1_000..<1_800]), Array(messages[1_800...])]
        #expect(try await ServeTestSupport.seedModel(target, events: messages) == 1)
        // Version 2: trained on later traffic, stored as a candidate.
        let decoder = EventDecoder()
        let later = messages[1_000..<1_600].compactMap { m in
            try? decoder.decode(m.value)
        }
        let second = try ColdStart.train(events: later, spec: ServeTestSupport.spec, state: ServeTestSupport.state).renumbered(version: 2, parent: 1)
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        try await ModelCatalog(connection: connection, schema: target.schema).store(second, note: "test candidate")

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.exitWhenIdle = nil
        c.modelPollInterval = .milliseconds(100)
        let stop = StopSignal()
        let telemetry = ServiceTelemetry(configuration: c.telemetry)
        let serving = Task { try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run(stop: stop) }
        /// The instance reports `version` live: its model follower has adopted it (it loads
        /// the set beside the batch loop, so how long that takes depends on the machine).
        func waitForLiveVersion(_ version: Int) async throws -> Bool {
            for _ in 0..<1_200 {
                let lines = String(decoding: telemetry.exposition(), as: UTF8.self).split(separator: "\n")
                if lines.contains(where: { $0.hasPrefix("vigil_model_version ") && Double($0.split(separator: " ").last ?? "") == Double(version) }) {
                    return true
                }
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
        func cli(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["models"] + arguments + ["--schema", target.schema]
            var environment = ProcessInfo.processInfo.environment
            environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
            if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }

        try await ServeTestSupport.produce(chunks[0], brokers: brokers)
        #expect(try await waitForDecisions(1_000))
        #expect(try cli(["promote", "2"]) == 0)
        #expect(try await waitForLiveVersion(2))
        try await ServeTestSupport.produce(chunks[1], brokers: brokers)
        #expect(try await waitForDecisions(1_800))
        #expect(try cli(["rollback"]) == 0)
        #expect(try await waitForLiveVersion(1))
        try await ServeTestSupport.produce(chunks[2], brokers: brokers)
        #expect(try await waitForDecisions(2_400))
        stop.stop()
        let summary = try await serving.value
        #expect(summary.decided == messages.count)
        #expect(try cli(["promote", "99"]) == 65)

        let rows = try await connection.query("SELECT event_id, model_version FROM \(s).decisions", [])
        var versions: [String: Int64] = [:]
        for row in rows { versions[try row.decode(0)] = try row.decode(1) }
        let ids = try chunks.map { chunk in try chunk.map { message -> String in
            let object = try JSONSerialization.jsonObject(with: Data(message.value)) as! [String: Any]
            return object["event_id"] as! String
        } }
        #expect(ids[0].allSatisfy { versions[$0] == 1 })
        #expect(ids[1].allSatisfy { versions[$0] == 2 })
        #expect(ids[2].allSatisfy { versions[$0] == 1 })
        let catalog = try await ModelCatalog(connection: connection, schema: target.schema).list()
        #expect(catalog.map(\.version) == [1, 2])
        #expect(catalog.first { $0.isLive }?.version == 1)
        await connection.close()
    }
}
