// A served, signed audit trail for the chain tests: transactions (with poison) and labels
// decided by the real pipeline into a private schema once per test run; each test copies it
// into a schema of its own before tampering with it as a superuser.
import Foundation
import VigilAudit
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

struct AuditTrail: Sendable {
    /// The served schema; tests copy it (`AuditTrailFixture.copy`) and never change it.
    let target: MigrationTarget
    let topic: String
    let labelsTopic: String
    /// The HMAC key file the links were signed with.
    let keyFile: String
    let transactions: Int
    let poison: Int
    let labels: Int
}

actor AuditTrailFixture {
    static let shared = AuditTrailFixture()
    private var building: Task<AuditTrail, any Error>?

    func trail() async throws -> AuditTrail {
        if building == nil { building = Task { try await Self.build() } }
        return try await building!.value
    }

    /// Batches of 150 on two partitions: a dozen links per partition, each with decisions and
    /// some with alerts and dead letters; labels on their own topic.
    private static func build() async throws -> AuditTrail {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("audit-tx"), labelsTopic = KafkaTestSupport.uniqueName("audit-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        var simulator = SimulatorConfiguration()
        simulator.seed = 17
        simulator.customers = 300
        simulator.terminals = 600
        simulator.merchants = 200
        var transactions: [KafkaProducerMessage] = []
        var labels: [KafkaProducerMessage] = []
        for record in TransactionSimulator(configuration: simulator, maxTransactions: 1_800) {
            switch record {
            case .transaction(let t):
                transactions.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: Array(t.json(truth: false).utf8)))
            case .label(let l):
                labels.append(KafkaProducerMessage(topic: labelsTopic, key: Array(l.eventID.utf8), value: Array(l.json().utf8)))
            }
        }
        var messages = transactions
        let poison = [#"{"event_id" "p1"}"#, #"{"event_id":"p2","ts":1767225600000}"#, "not json", #"{"event_id":"p4","amount":-1}"#]
        for (i, text) in poison.enumerated() {
            messages.insert(KafkaProducerMessage(topic: topic, partition: Int32(i % 2), key: Array("poison-\(i)".utf8), value: Array(text.utf8)),
                            at: 200 + i * 300)
        }
        try await ServeTestSupport.produce(messages + labels, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: transactions)

        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-audit-\(UUID().uuidString).key").path
        try ("hmac-sha256:" + Data((0..<32).map { UInt8($0 * 7 & 0xFF) }).base64EncodedString()).write(toFile: keyFile, atomically: true, encoding: .utf8)
        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("audit"), schema: target.schema)
        c.labelsTopic = labelsTopic
        c.batchSize = 150
        c.audit.signingKeyFile = keyFile
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()
        guard summary.decided == transactions.count, summary.deadLettered == poison.count, summary.labels == labels.count else {
            throw AuditFixtureError(message: "incomplete trail: decided \(summary.decided), dead letters \(summary.deadLettered), labels \(summary.labels)")
        }
        return AuditTrail(target: target, topic: topic, labelsTopic: labelsTopic, keyFile: keyFile, transactions: transactions.count,
                          poison: poison.count, labels: labels.count)
    }

    /// A new migrated schema holding a copy of the trail's rows, links and offsets.
    func copy() async throws -> (AuditTrail, MigrationTarget) {
        let trail = try await trail()
        let from = quoteIdentifier(trail.target.schema)
        // On a connection's own queue: the cooperative threads stay free for the consumers of
        // the tests running alongside.
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        defer { Task { await connection.close() } }
        let target = try await connection.withSession { session in
            let target = try PostgresTestDatabase.newTarget()
            _ = try MigrationRunner(session: session, target: target).migrate(try PostgresTestDatabase.migrations())
            return target
        }
        let to = quoteIdentifier(target.schema)
        try await connection.transaction { session in
            try session.execute("INSERT INTO \(to).decisions SELECT * FROM \(from).decisions", [])
            for table in ["alerts", "dead_letters", "labels"] {
                try session.execute("INSERT INTO \(to).\(table) OVERRIDING SYSTEM VALUE SELECT * FROM \(from).\(table)", [])
            }
            try session.execute("INSERT INTO \(to).audit_chain SELECT * FROM \(from).audit_chain", [])
            try session.execute("INSERT INTO \(to).consumer_offsets SELECT * FROM \(from).consumer_offsets", [])
        }
        return (trail, target)
    }
}

struct AuditFixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

enum AuditTestSupport {
    /// Verifies on a connection's own queue (not on a cooperative thread).
    static func verify(_ schema: String, keys: [String] = [], _ request: VerifyRequest = VerifyRequest(), role: String? = nil) async throws -> VerifyReport {
        var request = request
        request.keys = try keys.map { try LinkVerificationKey(keyFile: $0) }
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let finalRequest = request
        do {
            let report = try await connection.withSession { session in
                if let role { try session.execute("SET ROLE \(quoteIdentifier(role))", []) }
                return try AuditVerifier(session: session, schema: schema).verify(finalRequest)
            }
            await connection.close()
            return report
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The report of one partition.
    static func partition(_ report: VerifyReport, _ topic: String, _ partition: Int32) -> PartitionReport? {
        report.partitions.first { $0.topic == topic && $0.partition == partition }
    }

    /// (partition, offset) of a decision whose outcome matches, in the trail's topic.
    static func decision(_ session: PostgresSession, _ schema: String, topic: String, where condition: String = "true",
                         index: Int = 0) throws -> (partition: Int32, offset: Int64) {
        let row = try session.query("""
            SELECT kafka_partition, kafka_offset FROM \(quoteIdentifier(schema)).decisions WHERE topic = $1 AND \(condition)
            ORDER BY kafka_partition, kafka_offset OFFSET $2 LIMIT 1
            """, [.text(topic), .int64(Int64(index))]).single()
        return (try row.decode(0), try row.decode(1))
    }

    /// The link of (topic, partition) covering `offset`: (from, to).
    static func link(_ session: PostgresSession, _ schema: String, topic: String, partition: Int32, covering offset: Int64) throws -> (Int64, Int64) {
        let row = try session.query("""
            SELECT from_offset, to_offset FROM \(quoteIdentifier(schema)).audit_chain
            WHERE topic = $1 AND kafka_partition = $2 AND from_offset <= $3 AND to_offset > $3
            """, [.text(topic), .int32(partition), .int64(offset)]).single()
        return (try row.decode(0), try row.decode(1))
    }
}
