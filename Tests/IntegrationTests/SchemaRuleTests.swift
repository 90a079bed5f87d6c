// Migration 0011 on a real PostgreSQL: the analyst role manages rules and lists only through
// the SECURITY DEFINER functions (never the tables), every change is versioned with its author
// and notified on "<schema>_rules", and the rule views count fires and precision.
import Foundation
import Testing
import VigilPostgres

@Suite("Schema rules")
struct SchemaRuleTests {
    @Test("the analyst role changes rules and lists only through the functions, each change versioned, attributed and notified")
    func analystManagesRulesThroughFunctions() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            let login = try session.query("SELECT session_user::text").single().decode(0, as: String.self)
            try session.listen(target.schema + "_rules")
            try PostgresTestDatabase.asRole(target.analystRole, session) {
                for statement in [
                    "INSERT INTO \(schema).rules (name, version, expression, outcome, mode, author) VALUES ('x', 1, 'true', 'block', 'enforce', 'me')",
                    "UPDATE \(schema).rules SET mode = 'off'",
                    "DELETE FROM \(schema).rules",
                    "SELECT * FROM \(schema).rules",
                    "INSERT INTO \(schema).rule_lists (name, created_by) VALUES ('l', 'me')",
                    "INSERT INTO \(schema).rule_list_items (list_name, value, added_by) VALUES ('l', 'v', 'me')",
                    "DELETE FROM \(schema).rule_list_items",
                    "DELETE FROM \(schema).rule_list_changes",
                ] {
                    #expect("\(statement)", performing: { try session.execute(statement, []) }, throws: SchemaRoleTests.isDenied)
                }
                let v1 = try session.query("SELECT \(schema).save_rule('big_ng', 'amount > 500 and country == ''NG''', 'block')", []).single().decode(0, as: Int.self)
                let v2 = try session.query("SELECT \(schema).save_rule('big_ng', 'amount > 800 and country == ''NG''', 'block', 'shadow')", []).single().decode(0, as: Int.self)
                let v3 = try session.query("SELECT \(schema).set_rule_mode('big_ng', 'enforce')", []).single().decode(0, as: Int.self)
                #expect([v1, v2, v3] == [Int](1...3))
                #expect(performing: { try session.query("SELECT \(schema).set_rule_mode('nope', 'off')", []) },
                        throws: { ($0 as? PostgresError)?.sqlState == "P0002" })
                #expect(performing: { try session.query("SELECT \(schema).save_rule('x', 'true', 'block', 'loud')", []) },
                        throws: { ($0 as? PostgresError)?.sqlState == "22023" })
                #expect(performing: { try session.query("SELECT \(schema).save_rule('bad name', 'true', 'block')", []) },
                        throws: { ($0 as? PostgresError)?.sqlState == "23514" })
                let current = try session.query("SELECT version, expression, mode, author FROM \(schema).current_rules WHERE name = 'big_ng'", []).single()
                #expect(try current.decode(0, as: Int.self) == 3)
                #expect(try current.decode(1, as: String.self) == "amount > 800 and country == 'NG'")
                #expect(try current.decode(2, as: String.self) == "enforce")
                #expect(try current.decode(3, as: String.self) == login)
                #expect(try session.query("SELECT count(*) FROM \(schema).rule_versions", []).single().decode(0, as: Int.self) == 3)

                #expect(try session.query("SELECT \(schema).add_to_rule_list('blocked_cards', ARRAY['c1', 'c2'], 'stolen')", []).single().decode(0, as: Int.self) == 2)
                #expect(try session.query("SELECT \(schema).add_to_rule_list('blocked_cards', ARRAY['c2', 'c3'])", []).single().decode(0, as: Int.self) == 1)
                #expect(try session.query("SELECT \(schema).remove_from_rule_list('blocked_cards', ARRAY['c1', 'c9'], 'recovered')", []).single().decode(0, as: Int.self) == 1)
                #expect(try session.query("SELECT \(schema).create_rule_list('empty_list')", []).single().decode(0, as: Bool.self))
                let entries = try session.query("SELECT list_name, value, added_by FROM \(schema).rule_list_entries ORDER BY 1, 2", [])
                #expect(try entries.map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: String?.self) ?? "-")" } == ["blocked_cards=c2", "blocked_cards=c3", "empty_list=-"])
                #expect(try entries.first!.decode(2, as: String.self) == login)
                let history = try session.query("SELECT value, action, changed_by FROM \(schema).rule_list_history ORDER BY change_id", [])
                #expect(try history.map { "\(try $0.decode(0, as: String.self)):\(try $0.decode(1, as: String.self))" } == ["c1:add", "c2:add", "c3:add", "c1:remove"])
            }
            // Every change notified the channel with the rule's or list's name.
            var payloads: [String] = []
            while let n = try session.nextNotification(timeout: .milliseconds(200)) { payloads.append(n.payload) }
            #expect(payloads == ["big_ng", "big_ng", "big_ng", "blocked_cards", "blocked_cards", "blocked_cards", "empty_list"])
        }
    }

    @Test("the service role reads rules and lists through the views and cannot change them")
    func serviceReadsOnly() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            try session.query("SELECT \(schema).save_rule('r', 'amount > 1', 'review')", [])
            try PostgresTestDatabase.asRole(target.serviceRole, session) {
                #expect(try session.query("SELECT count(*) FROM \(schema).current_rules", []).single().decode(0, as: Int.self) == 1)
                try session.query("SELECT * FROM \(schema).rule_list_entries", [])
                #expect(performing: { try session.query("SELECT \(schema).save_rule('r', 'true', 'block')", []) }, throws: SchemaRoleTests.isDenied)
                #expect(performing: { try session.execute("DELETE FROM \(schema).rules", []) }, throws: SchemaRoleTests.isDenied)
            }
        }
    }

    @Test("rule_hits_daily counts enforced and shadow fires from the decisions, rule_precision from the dispositions")
    func ruleViews() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let schema = quoteIdentifier(target.schema)
            let at = Date(timeIntervalSince1970: 1_767_225_600)
            let rows: [(String, String, String)] = [
                ("e1", "block", "p:rule.big_ng=600;s:rule.night=1;r:amount=9"),
                ("e2", "review", "p:rule.big_ng=700"),
                ("e3", "allow", "s:rule.night=1;c:amount=0.5"),
                ("e4", "allow", "r:amount=3"),
            ]
            try session.copy(into: "decisions", schema: target.schema, columns: [
                "kafka_timestamp", "decided_at", "event_id", "topic", "kafka_partition", "kafka_offset", "event_time", "card_id", "merchant_id",
                "amount", "currency", "anomaly_score", "classifier_score", "risk", "model_version", "decision", "reasons",
            ]) { writer in
                for (i, r) in rows.enumerated() {
                    try writer.appendRow([.timestamptz(at), .timestamptz(at), .text(r.0), .text("t"), .int32(0), .int64(Int64(i)), .timestamptz(at),
                                          .text("c"), .text("m"), .float64(600), .text("EUR"), .float32(1), .float32(0.1), .float32(0.2),
                                          .int64(1), .text(r.1), .text(r.2)])
                }
            }
            try session.execute("""
                INSERT INTO \(schema).alerts (event_id, topic, kafka_partition, kafka_offset, decided_at, card_id, merchant_id, amount, currency,
                    risk, model_version, decision, reasons)
                VALUES ('e1', 't', 0, 0, $1, 'c', 'm', 600, 'EUR', 0.2, 1, 'block',
                        '[{"kind": "rule", "name": "rule.big_ng", "weight": 600}, {"kind": "shadow_rule", "name": "rule.night", "weight": 1}]'),
                       ('e2', 't', 0, 1, $1, 'c', 'm', 600, 'EUR', 0.2, 1, 'review', '[{"kind": "rule", "name": "rule.big_ng", "weight": 700}]')
                """, [.timestamptz(at)])
            try session.query("SELECT \(schema).set_alert_disposition(alert_id, 'fraud') FROM \(schema).alerts WHERE event_id = 'e1'", [])
            try session.query("SELECT \(schema).set_alert_disposition(alert_id, 'legit') FROM \(schema).alerts WHERE event_id = 'e2'", [])
            try PostgresTestDatabase.asRole(target.analystRole, session) {
                let hits = try session.query("SELECT day::text, rule, mode, hits::text, blocked::text, reviewed::text, allowed::text FROM \(schema).rule_hits_daily ORDER BY rule", [])
                #expect(try hits.map { row in try (0..<7).map { i in try row.decode(i, as: String.self) }.joined(separator: " ") } == [
                    "2026-01-01 big_ng enforce 2 1 1 0", "2026-01-01 night shadow 2 1 0 1",
                ])
                let precision = try session.query("SELECT rule, mode, alerts, fraud, legit, precision::float8 FROM \(schema).rule_precision ORDER BY rule", [])
                #expect(try precision.map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int.self)) \(try $0.decode(3, as: Int.self)) \(try $0.decode(4, as: Int.self)) \(try $0.decode(5, as: Double.self))" } == [
                    "big_ng enforce 2 1 1 0.5", "night shadow 1 1 0 1.0",
                ])
            }
        }
    }
}
