// A model version that cannot be used never stops serving: `vigil models promote` refuses it
// (exit 65, saying why), and a running serve that finds one made live behind the CLI's back
// (plain SQL) keeps scoring with its current version, counts the refusal and turns /readyz
// degraded; started with one live, it falls back to the version live before.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeModelSafetyTests {
        static func events(_ messages: ArraySlice<KafkaProducerMessage>) -> [TransactionEvent] {
            let decoder = EventDecoder()
            return messages.compactMap { m in
                try? decoder.decode(m.value)
            }
        }

        /// Stores version 2 with weights that do not decode, and version 3 trained on another
        /// feature spec (the standard one, not the tests'), both as candidates.
        static func storeUnusable(_ schema: String, _ messages: [KafkaProducerMessage]) async throws {
            let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
            defer { Task { await connection.close() } }
            let s = quoteIdentifier(schema)
            try await connection.execute("""
                INSERT INTO \(s).models (version, parent_version, kind, weights, checksum, note) VALUES (2, 1, $1, $2, $3, 'corrupt')
                """, [.text(VigilSchema.modelKind), .bytea(Array(repeating: 0x5A, count: 4_096)), .text(String(repeating: "0", count: 64))])
            let other = try ColdStart.train(events: events(messages.prefix(600)), spec: .standard, state: ServeTestSupport.state)
                .renumbered(version: 3, parent: 1)
            try await ModelCatalog(connection: connection, schema: schema).store(other, note: "other spec")
        }

        static func cli(_ arguments: [String], schema: String) throws -> ChildProcessResult {
            var environment = ProcessInfo.processInfo.environment
            environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
            if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
            return try ChildProcess.run(try ServeCrashTests.vigilExecutable(), ["models"] + arguments + ["--schema", schema], environment: environment)
        }

        @Test func promoteRefusesVersionsThatCannotScoreHere() async throws {
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(800, topic: "unused")
            #expect(try await ServeTestSupport.seedModel(target, events: messages) == 1)
            try await Self.storeUnusable(target.schema, messages)

            let corrupt = try Self.cli(["promote", "2"], schema: target.schema)
            #expect(corrupt.status == 65)
            #expect(corrupt.stderr.contains("cannot be decoded"), "\(corrupt.stderr)")
            let otherSpec = try Self.cli(["promote", "3"], schema: target.schema)
            #expect(otherSpec.status == 65)
            #expect(otherSpec.stderr.contains("feature spec"), "\(otherSpec.stderr)")
            // Checked against an explicit spec file too: the tests' spec is not the standard one.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-spec-\(UUID().uuidString).json")
            try JSONEncoder().encode(FeatureSpec.standard).write(to: folder)
            defer { try? FileManager.default.removeItem(at: folder) }
            let againstFile = try Self.cli(["promote", "1", "--feature-spec", folder.path], schema: target.schema)
            #expect(againstFile.status == 65, "\(againstFile.stderr)")
            #expect(try ServeTestSupport.scalar("SELECT version FROM \(quoteIdentifier(target.schema)).models WHERE promoted_at IS NOT NULL AND retired_at IS NULL") == 1)
            // A usable candidate goes live.
            let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
            let good = try ColdStart.train(events: Self.events(messages[200..<700]), spec: ServeTestSupport.spec, state: ServeTestSupport.state)
                .renumbered(version: 4, parent: 1)
            try await ModelCatalog(connection: connection, schema: target.schema).store(good)
            await connection.close()
            let ok = try Self.cli(["promote", "4"], schema: target.schema)
            #expect(ok.status == 0, "\(ok.stderr)")
        }

        @Test func serveKeepsScoringWhenAnUnusableVersionIsMadeLive() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-bad-model")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(1_800, topic: topic)
            #expect(try await ServeTestSupport.seedModel(target, events: messages) == 1)
            try await Self.storeUnusable(target.schema, messages)
            let s = quoteIdentifier(target.schema)

            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.exitWhenIdle = nil
            c.modelPollInterval = .milliseconds(100)
            let telemetry = ServiceTelemetry(configuration: c.telemetry)
            let stop = StopSignal()
            let serving = Task { try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run(stop: stop) }
            func waitForDecisions(_ count: Int64) async throws -> Bool {
                for _ in 0..<1_200 {
                    if try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= count { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return false
            }
            func makeLive(_ version: Int64) throws {
                let session = try PostgresTestDatabase.session()
                defer { session.close() }
                try session.transaction { session in
                    try session.execute("UPDATE \(s).models SET retired_at = now() WHERE promoted_at IS NOT NULL AND retired_at IS NULL", [])
                    try session.execute("UPDATE \(s).models SET promoted_at = now(), retired_at = NULL WHERE version = $1", [.int64(version)])
                }
            }
            // Generous: refusing version 3 means loading and decoding a set of the standard spec's
            // size first, which a debug build on a loaded machine takes seconds for.
            func readiness(containing text: String, _ present: Bool = true) async throws -> Bool {
                for _ in 0..<1_800 {
                    if telemetry.readiness().body.contains(text) == present { return true }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return false
            }

            try await ServeTestSupport.produce(Array(messages[0..<600]), brokers: brokers)
            #expect(try await waitForDecisions(600))
            try makeLive(2)  // weights that do not decode
            #expect(try await readiness(containing: "degraded: live version 2 cannot be used"))
            try await ServeTestSupport.produce(Array(messages[600..<1_200]), brokers: brokers)
            #expect(try await waitForDecisions(1_200))
            try makeLive(3)  // another feature spec
            #expect(try await readiness(containing: "degraded: live version 3 cannot be used"))
            try await ServeTestSupport.produce(Array(messages[1_200...]), brokers: brokers)
            #expect(try await waitForDecisions(1_800))
            try makeLive(1)  // the operator rolls back
            #expect(try await readiness(containing: "degraded", false))
            stop.stop()
            let summary = try await serving.value

            #expect(summary.decided == messages.count)
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE model_version <> 1") == 0)
            let exposition = String(decoding: telemetry.exposition(), as: UTF8.self)
            #expect(exposition.contains("vigil_model_adoption_failures_total 2"), "\(exposition)")

            // Started with the corrupt version live, serve falls back to the one live before it.
            try makeLive(2)
            try await ServeTestSupport.produce(ServeTestSupport.simulatedMessages(300, topic: topic, seed: 99), brokers: brokers)
            var again = c
            again.exitWhenIdle = .seconds(4)
            let restarted = try await FraudPipeline(configuration: again, log: .silent).run()
            #expect(restarted.decided == 300)
            #expect(restarted.modelVersion == 1)
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE model_version <> 1") == 0)
        }

        /// An upgrade: the registry holds a model trained on an earlier release's standard spec
        /// (with the weekday inputs) and serve runs with today's standard spec by default. It
        /// serves with the spec the live version was trained on, rather than refusing it and
        /// deciding nothing.
        @Test func serveWithTheDefaultSpecScoresWithAModelOfAnEarlierReleasesStandardSpec() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-upgraded")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(600, topic: topic)
            let earlier = try ColdStart.train(events: Self.events(messages.prefix(400)), spec: .standardWithWeekdays, state: ServeTestSupport.state)
            let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
            defer { Task { await connection.close() } }
            #expect(try await ModelStore(connection: connection, schema: target.schema).promoteFirst(earlier).version == 1)
            try await ServeTestSupport.produce(messages, brokers: brokers)

            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.featureSpec = .standard
            let summary = try await FraudPipeline(configuration: c, log: .silent).run()
            #expect(summary.decided == messages.count)
            #expect(summary.modelVersion == 1)
            let s = quoteIdentifier(target.schema)
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE model_version = 1") == Int64(messages.count))
        }
    }
}
