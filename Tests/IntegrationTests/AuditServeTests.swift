// The chain through the service's life: a member joining mid-stream (partitions move after
// commits, write-behind settles before the revocation), kill -9 and restarts of the `vigil`
// executable, and a database migrated by 0001-0004 upgrading with its history in place.
import Foundation
import Glibc
import Testing
@testable import VigilAudit
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct AuditServeTests {
    @Test("partitions moving to a member that joins mid-stream keep one intact chain each")
    func rebalance() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("audit-group")
        try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(8_000, topic: topic)
        try await ServeTestSupport.produce(Array(messages.prefix(2_000)), brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: messages)
        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.batchSize = 100
        c.exitWhenIdle = .seconds(6)
        var a = c, b = c
        a.memberName = "member-a"
        b.memberName = "member-b"
        let s = quoteIdentifier(target.schema)
        let first = Task { try await FraudPipeline(configuration: a, log: .silent).run() }
        // The first member commits links on every partition before the second joins.
        for _ in 0..<1_500 where try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") < 2_000 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let second = Task { try await FraudPipeline(configuration: b, log: .silent).run() }
        // The rest arrives in a trickle until the second member has committed some of it.
        var sent = 2_000
        while sent < messages.count {
            let chunk = Array(messages[sent..<min(sent + 300, messages.count)])
            try await ServeTestSupport.produce(chunk, brokers: brokers)
            sent += chunk.count
            let joined = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).consumer_offsets WHERE updated_by = 'member-b'") > 0
            if !joined { try await Task.sleep(for: .milliseconds(300)) }
        }
        let summaryA = try await first.value, summaryB = try await second.value
        #expect(summaryA.decided + summaryB.decided == messages.count)
        #expect(summaryB.decided > 0, "the second member decided nothing")
        let report = try await AuditTestSupport.verify(target.schema)
        #expect(report.isIntact, "\(report.partitions.compactMap(\.firstBreak))")
        #expect(report.partitions.count == 4)
        #expect(report.partitions.reduce(0) { $0 + $1.rows[AuditTable.decisions.rawValue] } == Int64(messages.count))
        #expect(summaryA.decided > 0)
        // Each partition's links run unbroken from its first offset to its stored offset, whoever wrote them.
        for p in report.partitions {
            let stored = try ServeTestSupport.scalar("SELECT next_offset FROM \(s).consumer_offsets WHERE topic = $1 AND kafka_partition = $2",
                                                     [.text(p.topic), .int32(p.partition)])
            #expect(p.covered == 0..<stored)
        }
    }

    @Test("an intact trail after kill -9 and restarts of vigil serve verifies clean with vigil audit verify")
    func crashAndRestart() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("audit-crash")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(4_000, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: messages)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-audit-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent("signing.key").path, publicKey = folder.appendingPathComponent("signing.pub").path
        let (secret, pub) = LinkSigner.generate(.ed25519)
        try secret.write(toFile: key, atomically: true, encoding: .utf8)
        try pub!.write(toFile: publicKey, atomically: true, encoding: .utf8)
        let specFile = folder.appendingPathComponent("spec.json")
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: specFile)
        let config: [String: Any] = [
            "schema": target.schema, "topic": topic, "group": KafkaTestSupport.uniqueName("crash"), "batch_size": 100,
            "snapshot_every": 700, "session_timeout_ms": 6000, "feature_spec": specFile.path, "max_cards": ServeTestSupport.state.maxCards,
            "recent_events": ServeTestSupport.state.recentEvents, "training": false, "audit": ["signing_key_file": key],
        ]
        let configFile = folder.appendingPathComponent("serve.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_KAFKA_BROKERS"] = brokers
        environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
        if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
        func start(_ arguments: [String], output: FileHandle? = nil) throws -> Process {
            let process = Process()
            process.executableURL = binary
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = output ?? FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        // Waiting for a child without holding one of the few cooperative threads (waitUntilExit
        // would block one for the child's whole run, starving the other tests' consumers).
        func exited(_ process: Process) async throws {
            while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        }
        let decisions = "SELECT count(*) FROM \(quoteIdentifier(target.schema)).decisions"
        for threshold in [Int64(300 + Int.random(in: 0..<400)), Int64(1_400 + Int.random(in: 0..<400))] {
            let child = try start(["serve", "--config", configFile.path, "--log-level", "error", "--metrics-port", "0"])
            var progressed = false
            for _ in 0..<1_200 where child.isRunning {
                if try ServeTestSupport.scalar(decisions) > threshold { progressed = true; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(progressed, "no progress past \(threshold) decisions")
            kill(child.processIdentifier, SIGKILL)
            try await exited(child)
        }
        let last = try start(["serve", "--config", configFile.path, "--log-level", "error", "--metrics-port", "0", "--exit-when-idle", "4s"])
        try await exited(last)
        #expect(last.terminationStatus == 0)
        #expect(try ServeTestSupport.scalar(decisions) == Int64(messages.count))

        let pipe = Pipe()
        let verify = try start(["audit", "verify", "--schema", target.schema, "--topic", topic, "--key-file", publicKey, "--json"], output: pipe.fileHandleForWriting)
        try pipe.fileHandleForWriting.close()
        try await exited(verify)  // its report is far below a pipe's buffer
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        #expect(verify.terminationStatus == 0, "\(String(decoding: output, as: UTF8.self))")
        let report = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        #expect(report["intact"] as? Bool == true)
        let partitions = try #require(report["partitions"] as? [[String: Any]])
        #expect(partitions.count == 2)
        #expect(partitions.reduce(0) { $0 + (($1["decisions"] as? Int) ?? 0) } == messages.count)
        #expect(partitions.allSatisfy { ($0["signatures_checked"] as? Int) == ($0["links"] as? Int) && ($0["links"] as? Int ?? 0) > 0 })
    }

    @Test("a database migrated by 0001-0004 keeps its decisions readable and the service chains on from its stored offsets")
    func upgradeFromTheUnchainedSchema() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("audit-upgrade")
        try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
        let messages = ServeTestSupport.simulatedMessages(1_200, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let target = try PostgresTestDatabase.newTarget()
        defer { PostgresTestDatabase.drop(target, using: session) }
        let files = try PostgresTestDatabase.migrations()
        _ = try MigrationRunner(session: session, target: target).migrate(files.filter { $0.version <= 4 })
        _ = try await ServeTestSupport.seedModel(target, events: messages)

        // As the previous version left it: its first 400 decisions in 0001's row, and their offset.
        let decoder = EventDecoder()
        let old = messages.prefix(400).map { m in try! decoder.decode(m.value) }
        let group = KafkaTestSupport.uniqueName("upgrade")
        try session.copy(into: "decisions", schema: target.schema, columns: [
            "kafka_timestamp", "topic", "kafka_partition", "kafka_offset", "event_id", "event_time", "decided_at", "card_id", "merchant_id",
            "amount", "currency", "anomaly_score", "classifier_score", "risk", "model_version", "decision", "reasons", "features",
        ]) { writer in
            for (offset, e) in old.enumerated() {
                try writer.appendRow([.timestamptz(Date()), .text(topic), .int32(0), .int64(Int64(offset)), .text(e.eventID),
                                      .timestamptz(Date(timeIntervalSince1970: Double(e.timestampMillis) / 1000)), .timestamptz(Date()),
                                      .text(e.cardID), .text(e.merchantID), .float64(e.amount), .text(e.currency), .float32(0.1), .float32(0.1),
                                      .float32(0.1), .int64(1), .text("allow"), .jsonb(#"[{"name":"amount","kind":"classifier","weight":0.1}]"#),
                                      .float32Array([0.5, 1.5])])
            }
        }
        try session.query("SELECT \(quoteIdentifier(target.schema)).advance_offset($1, $2, 0, NULL, 400)", [.text(group), .text(topic)])

        let report = try MigrationRunner(session: session, target: target).migrate(files)
        #expect(report.applied.map(\.version).allSatisfy { $0 > 4 })
        let s = quoteIdentifier(target.schema)
        #expect(try session.query("SELECT count(*) FROM \(s).decisions_legacy", []).single().decode(0, as: Int64.self) == 400)
        #expect(try session.query("SELECT count(*) FROM \(s).decisions", []).single().decode(0, as: Int64.self) == 0)
        let renamed = try session.query("""
            SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass AND c.relname LIKE 'decisions\\_legacy\\_%'
            """, [.text("\(target.schema).decisions_legacy")]).single().decode(0, as: Int64.self)
        #expect(renamed >= 8)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: group, schema: target.schema)
        c.decisionPolicy.rules = []
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(summary.decided == messages.count - 400)
        #expect(try session.query("SELECT count(*) FROM \(s).decisions", []).single().decode(0, as: Int64.self) == Int64(messages.count - 400))
        // The analyst views read both tables.
        #expect(try session.query("SELECT count(*) FROM \(s).card_timeline WHERE kind = 'decision'", []).single().decode(0, as: Int64.self) == Int64(messages.count))
        #expect(try session.query("SELECT sum(decisions)::bigint FROM \(s).decision_summary_daily", []).single().decode(0, as: Int64.self) == Int64(messages.count))
        // The chain starts at the stored offset, marked as following unchained history.
        let verified = try await AuditTestSupport.verify(target.schema)
        #expect(verified.isIntact, "\(verified.partitions.compactMap(\.firstBreak))")
        let p = try #require(AuditTestSupport.partition(verified, topic, 0))
        #expect(p.covered == 400..<Int64(messages.count))
        #expect(p.notes.contains { $0.contains("before the chain existed") })
        let first = try session.query("SELECT prev_hash FROM \(s).audit_chain WHERE topic = $1 ORDER BY from_offset LIMIT 1", [.text(topic)])
            .single().decode(0, as: [UInt8].self)
        #expect(first == ChainLink.unchainedHistory)
        // Retention retires legacy days like new ones.
        #expect(try session.query("SELECT \(s).drop_decision_partitions(1)", []).single().decode(0, as: Int.self) >= 0)
    }
}
