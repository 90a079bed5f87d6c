// PostgreSQL faults while serving, injected for real: serve's sessions terminated
// (pg_terminate_backend, SQLSTATE 57P01) again and again, the reply to a COMMIT lost after
// the server applied it (a proxy cuts the connection), and a stalled member holding the
// offset row locks inside an open transaction. Serve retries in-process, resolves the
// unknown COMMIT from the stored offsets, never decides an event twice or loses one, and a
// stalled lock holder is ended by the session timeouts serve sets by default.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeDatabaseFaultTests {
        static func expectExactlyOnce(_ schema: String, topic: String, count: Int) throws {
            let rows = try ServeTestSupport.decisions(schema, topic: topic)
            #expect(rows.count == count)
            #expect(Set(rows.map { [Int64($0.partition), $0.offset] }).count == count)
            let stored = try ServeTestSupport.scalar("SELECT coalesce(sum(next_offset), 0)::bigint FROM \(quoteIdentifier(schema)).consumer_offsets WHERE topic = $1", [.text(topic)])
            #expect(stored == Int64(count))
        }

        @Test func terminatedSessionsAreRetriedInProcessWithoutLosingOrRepeatingAnEvent() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-db-kill")
            try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(4_000, topic: topic)
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)

            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.batchSize = 100
            c.applicationName = PostgresTestDatabase.uniqueName("vigil-kill")
            c.databaseRetry = RetryBackoff(initial: .milliseconds(50), maximum: .milliseconds(500))
            let telemetry = ServiceTelemetry(configuration: c.telemetry)
            let serving = Task { try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run() }
            let s = quoteIdentifier(target.schema)
            var kills = 0
            for _ in 0..<600 where kills < 8 {
                let decided = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions")
                if decided >= Int64(kills + 1) * 400 {
                    kills += Int(try ServeTestSupport.scalar(
                        "SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity WHERE application_name LIKE $1",
                        [.text(c.applicationName + "%")]) > 0 ? 1 : 0)
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            let summary = try await serving.value
            #expect(kills >= 4, "only \(kills) kills landed before the run ended")
            #expect(summary.decided == messages.count)
            try Self.expectExactlyOnce(target.schema, topic: topic, count: messages.count)
            let exposition = String(decoding: telemetry.exposition(), as: UTF8.self)
            #expect(!exposition.contains("vigil_db_retries_total 0\n"), "\(exposition)")
        }

        @Test func aCommitWhoseReplyIsLostIsResolvedFromTheStoredOffsets() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-db-ambiguous")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(3_000, topic: topic)
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)

            let url = try StackEnvironment.require("VIGIL_DATABASE_URL")
            let pgPort = Int(try PostgresConfiguration(url: url).keywords["port"] ?? "5432") ?? 5432
            let proxy = try PostgresFaultProxy(targetPort: pgPort)
            defer { proxy.close() }
            proxy.loseReply(toCommits: [3, 7, 12])
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.batchSize = 150
            c.databaseURL = url.replacingOccurrences(of: ":\(pgPort)/", with: ":\(proxy.port)/")
            c.databaseRetry = RetryBackoff(initial: .milliseconds(50), maximum: .milliseconds(500))
            let telemetry = ServiceTelemetry(configuration: c.telemetry)
            let summary = try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run()

            #expect(proxy.repliesLost == 3)
            #expect(summary.decided == messages.count)
            try Self.expectExactlyOnce(target.schema, topic: topic, count: messages.count)
            let exposition = String(decoding: telemetry.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"vigil_db_commits_resolved_total{outcome="committed"} 3"#), "\(exposition)")
        }

        @Test func aStalledMemberHoldingTheOffsetLocksIsEndedByTheSessionTimeouts() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-db-stalled")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(2_000, topic: topic)
            try await ServeTestSupport.produce(Array(messages[..<1_000]), brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            let group = KafkaTestSupport.uniqueName("g")
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: group, schema: target.schema)
            c.lockTimeout = .milliseconds(500)
            c.idleInTransactionTimeout = .seconds(2)
            c.databaseRetry = RetryBackoff(initial: .milliseconds(50), maximum: .milliseconds(500))
            #expect(try await FraudPipeline(configuration: c, log: .silent).run().decided == 1_000)

            // A member stalled inside its batch transaction: it holds the offset row locks and
            // does nothing more (as a SIGSTOPped process would). Its session has serve's limits.
            let stalled = PostgresSession(configuration: try c.postgresConfiguration(suffix: "-stalled"))
            try stalled.execute("BEGIN")
            try stalled.query("SELECT next_offset FROM \(quoteIdentifier(target.schema)).consumer_offsets WHERE group_id = $1 FOR UPDATE", [.text(group)])
            #expect(try stalled.query("SELECT current_setting('idle_in_transaction_session_timeout'), current_setting('lock_timeout'), current_setting('statement_timeout')")
                .first.map { [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)] } == ["2s", "500ms", "30s"])

            try await ServeTestSupport.produce(Array(messages[1_000...]), brokers: brokers)
            let summary = try await FraudPipeline(configuration: c, log: .silent).run()
            #expect(summary.decided == 1_000)
            try Self.expectExactlyOnce(target.schema, topic: topic, count: messages.count)
            // The stalled session was ended by the server, which released its locks.
            #expect(throws: PostgresError.self) { try stalled.execute("COMMIT") }
            stalled.close()
        }
    }
}
