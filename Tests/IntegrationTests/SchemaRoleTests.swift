// What the two roles may and may not do, checked statement by statement as
// each role (SET ROLE from the test's superuser connection).
import Foundation
import Testing
import VigilPostgres

@Suite("Schema roles")
struct SchemaRoleTests {
    static func isDenied(_ error: any Error) -> Bool {
        // 42501 insufficient_privilege; DROP/ALTER of another role's table also report it.
        (error as? PostgresError)?.sqlState == "42501"
    }

    /// Every table in the schema, partitions included.
    static func tables(_ session: PostgresSession, _ schema: String) throws -> [String] {
        try session.query("""
            SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') ORDER BY 1
            """, [.text(schema)]).map { try $0.decode(0, as: String.self) }
    }

    @Test("the analyst role is denied INSERT, UPDATE, DELETE, TRUNCATE, SELECT and DDL on every table")
    func analystDeniedOnTables() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            let tables = try Self.tables(session, target.schema)
            #expect(tables.count >= 12)
            try PostgresTestDatabase.asRole(target.analystRole, session) {
                for table in tables {
                    let name = "\(schema).\(table)"
                    for statement in [
                        "INSERT INTO \(name) DEFAULT VALUES",
                        "UPDATE \(name) SET \(try firstColumn(session, target.schema, table)) = NULL",
                        "DELETE FROM \(name)",
                        "TRUNCATE \(name)",
                        "SELECT * FROM \(name) LIMIT 1",
                        "ALTER TABLE \(name) ADD COLUMN sneaky int",
                        "DROP TABLE \(name)",
                        "CREATE INDEX ON \(name) ((1))",
                    ] {
                        #expect("\(statement)", performing: { try session.execute(statement, []) }, throws: Self.isDenied)
                    }
                }
                #expect(performing: { try session.execute("CREATE TABLE \(schema).mine (x int)", []) }, throws: Self.isDenied)
                #expect(performing: { try session.execute("CREATE VIEW \(schema).mine AS SELECT 1", []) }, throws: Self.isDenied)
                #expect(performing: {
                    try session.query("SELECT \(schema).create_decision_partitions(1)", [])
                }, throws: Self.isDenied)
            }
        }
    }

    @Test("the analyst role reads every analyst view and changes an alert only through set_alert_disposition")
    func analystViewsAndDisposition() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            try AnalystSeed.insert(into: session, schema: target.schema)
            let views = try session.query("""
                SELECT quote_ident(relname) FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'v' ORDER BY 1
                """, [.text(target.schema)]).map { try $0.decode(0, as: String.self) }
            #expect(views.count == 19)  // 13, and 0011's six rule views
            let alertID = try session.query("SELECT alert_id FROM \(schema).alerts WHERE event_id = 'e3'", []).single().decode(0, as: Int64.self)
            try PostgresTestDatabase.asRole(target.analystRole, session) {
                for view in views {
                    try session.query("SELECT * FROM \(schema).\(view)", [])
                    // Aggregating views are not updatable at all (55000); simple ones
                    // (open_alerts, model_history) are, so the privilege check must deny them.
                    #expect("\(view)", performing: { try session.execute("DELETE FROM \(schema).\(view)", []) }, throws: { error in
                        Self.isDenied(error) || (error as? PostgresError)?.sqlState == "55000"
                    })
                }
                #expect(performing: {
                    try session.execute("UPDATE \(schema).alerts SET status = 'fraud' WHERE alert_id = $1", [.int64(alertID)])
                }, throws: Self.isDenied)
                try session.query("SELECT \(schema).set_alert_disposition($1, 'fraud', 'confirmed with cardholder')", [.int64(alertID)])
                #expect(performing: {
                    try session.query("SELECT \(schema).set_alert_disposition($1, 'open')", [.int64(alertID)])
                }, throws: { ($0 as? PostgresError)?.sqlState == "22023" })
                #expect(performing: {
                    try session.query("SELECT \(schema).set_alert_disposition(-5, 'legit')", [])
                }, throws: { ($0 as? PostgresError)?.sqlState == "P0002" })
            }
            let alert = try session.query("""
                SELECT status, disposition_by = session_user, disposition_at IS NOT NULL, disposition_note FROM \(schema).alerts WHERE alert_id = $1
                """, [.int64(alertID)]).single()
            #expect(try alert.decode(0, as: String.self) == "fraud")
            #expect(try alert.decode(1, as: Bool.self))
            #expect(try alert.decode(2, as: Bool.self))
            #expect(try alert.decode(3, as: String.self) == "confirmed with cardholder")
            let label = try session.query("""
                SELECT label, source, alert_id FROM \(schema).labels WHERE event_id = 'e3' AND source = 'analyst'
                """, []).single()
            #expect(try label.decode(0, as: String.self) == "fraud")
            #expect(try label.decode(2, as: Int64.self) == alertID)
        }
    }

    @Test("the service role writes what the service writes, never updates or deletes decisions, and has no DDL")
    func serviceRole() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            try PostgresTestDatabase.asRole(target.serviceRole, session) {
                try session.execute("""
                    INSERT INTO \(schema).decisions (kafka_timestamp, decided_at, event_id, topic, kafka_partition, kafka_offset, event_time,
                        card_id, merchant_id, amount, currency, anomaly_score, classifier_score, risk, model_version, decision)
                    VALUES (now(), now(), 'e1', 'tx', 0, 1, now(), 'c', 'm', 1, 'EUR', 0, 0, 0.9, 1, 'block')
                    """, [])
                try session.copy(into: "decisions", schema: target.schema, columns: [
                    "kafka_timestamp", "decided_at", "event_id", "topic", "kafka_partition", "kafka_offset", "event_time", "card_id",
                    "merchant_id", "amount", "currency", "anomaly_score", "classifier_score", "risk", "model_version", "decision",
                ]) { writer in
                    try writer.appendRow([.timestamptz(Date()), .timestamptz(Date()), .text("e2"), .text("tx"), .int32(0), .int64(2), .timestamptz(Date()),
                                          .text("c"), .text("m"), .float64(2), .text("EUR"), .float32(0), .float32(0), .float32(0.1),
                                          .int64(1), .text("allow")])
                }
                try session.execute("""
                    INSERT INTO \(schema).alerts (event_id, topic, kafka_partition, kafka_offset, decided_at, card_id, merchant_id,
                        amount, currency, risk, model_version, decision) VALUES ('e1', 'tx', 0, 1, now(), 'c', 'm', 1, 'EUR', 0.9, 1, 'block')
                    """, [])
                try session.execute("""
                    INSERT INTO \(schema).dead_letters (topic, kafka_partition, kafka_offset, reason_code, reason, payload)
                    VALUES ('tx', 0, 3, 'invalid_json', 'unexpected end', '\\x7b'::bytea)
                    """, [])
                try session.query("SELECT \(schema).advance_offset('g', 'tx', 0, NULL, 4)", [])
                try session.query("SELECT \(schema).create_decision_partitions(1)", [])
                #expect(try session.query("SELECT count(*) FROM \(schema).decisions", []).single().decode(0, as: Int.self) == 2)
                for statement in [
                    "UPDATE \(schema).decisions SET risk = 0",
                    "DELETE FROM \(schema).decisions",
                    "TRUNCATE \(schema).decisions",
                    "DELETE FROM \(schema).decisions_default",
                    "UPDATE \(schema).alerts SET status = 'legit'",
                    "CREATE TABLE \(schema).mine (x int)",
                    "ALTER TABLE \(schema).decisions ADD COLUMN sneaky int",
                    "DROP TABLE \(schema).labels",
                    "SELECT \(schema).drop_decision_partitions(30)",
                    "SELECT \(schema).set_alert_disposition(1, 'fraud')",
                ] {
                    #expect("\(statement)", performing: { try session.execute(statement, []) }, throws: Self.isDenied)
                }
            }
        }
    }

    private func firstColumn(_ session: PostgresSession, _ schema: String, _ table: String) throws -> String {
        // Runs as the analyst, who may still read the catalog.
        try session.query("""
            SELECT quote_ident(attname) FROM pg_attribute
            WHERE attrelid = (quote_ident($1) || '.' || $2)::regclass AND attnum > 0 AND NOT attisdropped
              AND attidentity = '' ORDER BY attnum LIMIT 1
            """, [.text(schema), .text(table)]).single().decode(0)
    }
}
