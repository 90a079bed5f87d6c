// `vigil migrate` semantics through MigrationRunner: idempotent, safe when run
// twice at once, refuses changed files; and the decisions table's guarantees.
import Foundation
import Testing
import VigilPostgres

@Suite("Schema migrations")
struct SchemaMigrationTests {
    @Test("migrating twice applies every file once, then nothing")
    func twice() throws {
        let session = try PostgresTestDatabase.session()
        let target = try PostgresTestDatabase.newTarget()
        defer { PostgresTestDatabase.drop(target, using: session) }
        let files = try PostgresTestDatabase.migrations()
        let runner = MigrationRunner(session: session, target: target)
        let first = try runner.migrate(files)
        #expect(first.applied.map(\.name) == files.map(\.name))
        #expect(first.alreadyApplied.isEmpty)
        let second = try runner.migrate(files)
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == files.map(\.name))
        let recorded = try session.query("SELECT name, checksum FROM \(quoteIdentifier(target.schema)).schema_migrations ORDER BY version", [])
        #expect(try recorded.map { try $0.decode(0, as: String.self) } == files.map(\.name))
        #expect(try recorded.allSatisfy { try $0.decode(1, as: String.self).count == 64 })
    }

    @Test("two concurrent migrations of the same schema apply each file exactly once")
    func concurrent() async throws {
        let cleanup = try PostgresTestDatabase.session()
        let target = try PostgresTestDatabase.newTarget()
        defer { PostgresTestDatabase.drop(target, using: cleanup) }
        let files = try PostgresTestDatabase.migrations()
        let configuration = try PostgresTestDatabase.configuration()
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for n in 0..<2 {
                let connection = PostgresConnection(configuration: configuration, label: "migrate-\(n)")
                group.addTask {
                    try await connection.withSession { session in
                        try MigrationRunner(session: session, target: target).migrate(files)
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let appliedNames = reports.flatMap { $0.applied.map(\.name) }.sorted()
        #expect(appliedNames == files.map(\.name).sorted())
        let count = try cleanup.query("SELECT count(*) FROM \(quoteIdentifier(target.schema)).schema_migrations", []).single()
        #expect(try count.decode(0, as: Int.self) == files.count)
    }

    @Test("a changed, renamed or missing applied file is refused and nothing is applied")
    func tampered() throws {
        let session = try PostgresTestDatabase.session()
        let target = try PostgresTestDatabase.newTarget()
        defer { PostgresTestDatabase.drop(target, using: session) }
        let files = try PostgresTestDatabase.migrations()
        let runner = MigrationRunner(session: session, target: target)
        _ = try runner.migrate(Array(files.prefix(2)))

        // One character changed in an applied file, plus a new pending file.
        var changed = files
        changed[1] = Migration(version: files[1].version, name: files[1].name, sql: files[1].sql + "\n-- edited")
        let isRefusal: (any Error) -> Bool = { ($0 as? PostgresError)?.code == .migration }
        #expect(performing: { try runner.migrate(changed) }, throws: isRefusal)
        var renamed = files
        renamed[0] = Migration(version: files[0].version, name: "0001_renamed.sql", sql: files[0].sql)
        #expect(performing: { try runner.migrate(renamed) }, throws: isRefusal)
        #expect(performing: { try runner.migrate(Array(files.prefix(1))) }, throws: isRefusal)

        let applied = try session.query("SELECT count(*) FROM \(quoteIdentifier(target.schema)).schema_migrations", []).single()
        #expect(try applied.decode(0, as: Int.self) == 2)
        // The original files still migrate the rest.
        #expect(try runner.migrate(files).applied.count == files.count - 2)
    }

    @Test("a failing migration rolls back entirely and is not recorded")
    func failingMigration() throws {
        let session = try PostgresTestDatabase.session()
        let target = try PostgresTestDatabase.newTarget()
        defer { PostgresTestDatabase.drop(target, using: session) }
        let broken = [Migration(version: 1, name: "0001_broken.sql", sql: """
            CREATE TABLE @schema@.half_done (x int);
            SELECT 1/0;
            """)]
        #expect(throws: PostgresError.self) { try MigrationRunner(session: session, target: target).migrate(broken) }
        let exists = try session.query("SELECT to_regclass($1) IS NOT NULL", [.text("\(target.schema).half_done")]).single()
        #expect(try exists.decode(0, as: Bool.self) == false)
        let recorded = try session.query("SELECT count(*) FROM \(quoteIdentifier(target.schema)).schema_migrations", []).single()
        #expect(try recorded.decode(0, as: Int.self) == 0)
    }

    @Test("a Kafka record is decided once: a redelivered (topic, partition, offset) is refused whatever its decision time")
    func decisionUniqueness() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let today = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
            func insert(offset: Int64, recordTime: Date, decidedAt: Date) throws {
                try session.execute("""
                    INSERT INTO \(quoteIdentifier(target.schema)).decisions (kafka_timestamp, decided_at, event_id, topic, kafka_partition,
                        kafka_offset, event_time, card_id, merchant_id, amount, currency, anomaly_score, classifier_score, risk,
                        model_version, decision)
                    VALUES ($1, $2, $3, 'tx', 0, $4, $1, 'c', 'm', 1.0, 'EUR', 0, 0, 0, 1, 'allow')
                    """, [.timestamptz(recordTime), .timestamptz(decidedAt), .text("e\(offset)"), .int64(offset)])
            }
            let recordTime = today.addingTimeInterval(60)
            try insert(offset: 1, recordTime: recordTime, decidedAt: recordTime)
            // The same record consumed again after a crash, decided a day later.
            #expect {
                try insert(offset: 1, recordTime: recordTime, decidedAt: recordTime.addingTimeInterval(86_400))
            } throws: { ($0 as? PostgresError)?.sqlState == "23505" && ($0 as? PostgresError)?.serverInfo?.constraintName != nil }
            try insert(offset: 2, recordTime: today.addingTimeInterval(86_400 + 60), decidedAt: today)
            // A record time far outside the created partitions lands in the default partition, not lost,
            // and is still unique there.
            let ancient = today.addingTimeInterval(-400 * 86_400)
            try insert(offset: 3, recordTime: ancient, decidedAt: today)
            #expect(throws: PostgresError.self) { try insert(offset: 3, recordTime: ancient, decidedAt: today) }
            let placement = try session.query("""
                SELECT tableoid::regclass::text FROM \(quoteIdentifier(target.schema)).decisions ORDER BY kafka_offset
                """, []).map { try $0.decode(0, as: String.self) }
            #expect(placement.count == 3)
            #expect(placement[0] != placement[1])
            #expect(placement[2].hasSuffix("decisions_default"))
        }
    }

    @Test("daily partitions are created ahead idempotently and old ones dropped")
    func partitionMaintenance() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            let created = try session.query("SELECT \(schema).create_decision_partitions(3, (now() AT TIME ZONE 'UTC')::date - 20)", [])
            #expect(try created.single().decode(0, as: Int.self) == 4)
            let again = try session.query("SELECT \(schema).create_decision_partitions(3, (now() AT TIME ZONE 'UTC')::date - 20)", [])
            #expect(try again.single().decode(0, as: Int.self) == 0)
            try session.execute("""
                INSERT INTO \(schema).decisions (kafka_timestamp, decided_at, event_id, topic, kafka_partition, kafka_offset, event_time,
                    card_id, merchant_id, amount, currency, anomaly_score, classifier_score, risk, model_version, decision)
                VALUES (now() - interval '19 days', now(), 'old', 'tx', 0, 1, now(), 'c', 'm', 1, 'EUR', 0, 0, 0, 1, 'allow'),
                       (now(), now(), 'new', 'tx', 0, 2, now(), 'c', 'm', 1, 'EUR', 0, 0, 0, 1, 'allow')
                """, [])
            let dropped = try session.query("SELECT \(schema).drop_decision_partitions(10)", [])
            #expect(try dropped.single().decode(0, as: Int.self) == 4 + 0)
            let left = try session.query("SELECT event_id FROM \(schema).decisions", []).map { try $0.decode(0, as: String.self) }
            #expect(left == ["new"])
            #expect(throws: PostgresError.self) { try session.query("SELECT \(schema).drop_decision_partitions(0)", []) }
        }
    }

    @Test("advance_offset is a compare-and-set: a stale expected offset loses")
    func offsetCompareAndSet() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let call = "SELECT \(quoteIdentifier(target.schema)).advance_offset('g', 'tx', 3, $1, $2, 'member-a')"
            func advance(_ expected: Int64?, _ next: Int64) throws -> Bool {
                try session.query(call, [expected.map(PostgresValue.int64) ?? .null, .int64(next)]).single().decode(0)
            }
            #expect(try advance(nil, 100))
            #expect(try !advance(nil, 50))     // someone already created it
            #expect(try advance(100, 200))
            #expect(try !advance(100, 300))    // stale: the partition moved on
            let stored = try session.query("SELECT next_offset FROM \(quoteIdentifier(target.schema)).consumer_offsets", []).single()
            #expect(try stored.decode(0, as: Int.self) == 200)
        }
    }
}
