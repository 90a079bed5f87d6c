// Every file in sql/queries runs as the analyst role against a seeded schema
// and returns the rows the seed implies.
import Foundation
import Testing
import VigilPostgres

/// A small, fully known data set: 10 decisions on 7 cards, 5 alerts (2 open,
/// 2 fraud, 1 legit), 4 model versions, 5 dead letters (one too old for the
/// 7-day query). Decisions are dated early today (UTC) so they share one day.
enum AnalystSeed {
    static func insert(into session: PostgresSession, schema name: String) throws {
        let schema = quoteIdentifier(name)
        let today = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        let decisions: [(String, String, Int64, String, Float)] = [
            ("e1", "card-A", 2, "allow", 0.10), ("e2", "card-A", 2, "review", 0.70), ("e3", "card-A", 2, "block", 0.97),
            ("e4", "card-B", 2, "review", 0.80), ("e5", "card-C", 1, "review", 0.60), ("e6", "card-D", 1, "block", 0.90),
            ("e7", "card-E", 2, "review", 0.55), ("e8", "card-F", 1, "allow", 0.05), ("e9", "card-F", 1, "allow", 0.02),
            ("e10", "card-G", 2, "allow", 0.01),
        ]
        try session.copy(into: "decisions", schema: name, columns: [
            "kafka_timestamp", "decided_at", "event_id", "topic", "kafka_partition", "kafka_offset", "event_time", "card_id", "merchant_id",
            "amount", "currency", "anomaly_score", "classifier_score", "risk", "model_version", "decision", "reasons",
        ]) { writer in
            for (index, d) in decisions.enumerated() {
                let at = today.addingTimeInterval(Double(index + 1))
                try writer.appendRow([.timestamptz(at), .timestamptz(at), .text(d.0), .text("transactions"), .int32(0), .int64(Int64(index)),
                                      .timestamptz(at), .text(d.1), .text("m-\(index % 3)"), .float64(10 * Double(index + 1)),
                                      .text("EUR"), .float32(d.4), .float32(d.4), .float32(d.4), .int64(d.2), .text(d.3),
                                      .text("c:amount=0.5")])
            }
        }
        // Alerts for e3 (open), e4, e5, e6 (given verdicts below), e7 (open).
        try session.execute("""
            INSERT INTO \(schema).alerts (event_id, topic, kafka_partition, kafka_offset, decided_at, card_id, merchant_id, amount,
                currency, risk, model_version, decision, reasons)
            SELECT event_id, topic, kafka_partition, kafka_offset, decided_at, card_id, merchant_id, amount, currency, risk,
                   model_version, decision, '[{"kind": "classifier", "name": "amount", "weight": 0.5}]'::jsonb
            FROM \(schema).decisions WHERE event_id IN ('e3', 'e4', 'e5', 'e6', 'e7')
            """, [])
        for (event, verdict) in [("e4", "fraud"), ("e5", "legit"), ("e6", "fraud")] {
            try session.query("""
                SELECT \(schema).set_alert_disposition(alert_id, $2) FROM \(schema).alerts WHERE event_id = $1
                """, [.text(event), .text(verdict)])
        }
        // A chargeback on card A's first event, from the labels topic.
        try session.execute("""
            INSERT INTO \(schema).labels (event_id, label, source, labeled_at, source_topic, source_partition, source_offset)
            VALUES ('e1', 'fraud', 'stream', $1, 'labels', 0, 0)
            """, [.timestamptz(today.addingTimeInterval(20))])
        try session.execute("""
            INSERT INTO \(schema).models (version, parent_version, kind, created_at, metrics, weights, checksum, promoted_at, retired_at)
            VALUES (1, NULL, 'bundle', now() - interval '4 days', '{"auc": 0.91}', '\\x0001', 'c1', now() - interval '3 days', now() - interval '1 day'),
                   (2, 1,    'bundle', now() - interval '2 days', '{"auc": 0.93}', '\\x000102', 'c2', now() - interval '1 day', NULL),
                   (3, 2,    'bundle', now() - interval '1 hour', '{}', '\\x00', 'c3', NULL, NULL),
                   (4, 2,    'bundle', now() - interval '2 hours', '{}', '\\x00', 'c4', NULL, now() - interval '1 hour')
            """, [])
        try session.execute("""
            INSERT INTO \(schema).dead_letters (topic, kafka_partition, kafka_offset, received_at, reason_code, reason, payload)
            VALUES ('transactions', 0, 100, now() - interval '1 hour', 'invalid_json', 'unexpected end of input', '\\x7b'),
                   ('transactions', 0, 101, now() - interval '2 hours', 'invalid_json', 'unexpected character', '\\x7d'),
                   ('transactions', 1, 102, now() - interval '1 day', 'invalid_json', 'unexpected end of input', '\\x5b'),
                   ('transactions', 1, 103, now() - interval '3 hours', 'missing_field', 'card_id is missing', '\\x7b7d'),
                   ('transactions', 1, 104, now() - interval '10 days', 'oversize', 'payload over 64 KiB', '\\x00')
            """, [])
    }
}

@Suite("Schema analyst queries")
struct SchemaAnalystQueryTests {
    /// Runs one sql/queries file as the analyst, against the test's schema.
    static func run(_ file: String, _ session: PostgresSession, _ target: MigrationTarget) throws -> [[String?]] {
        let url = PostgresTestDatabase.sqlDirectory.appendingPathComponent("queries/\(file)")
        let sql = try String(contentsOf: url, encoding: .utf8)
            .replacingOccurrences(of: "vigil.", with: "\(quoteIdentifier(target.schema)).")
        return try PostgresTestDatabase.asRole(target.analystRole, session) {
            try session.query(sql, []).map { row in
                row.values.map { value -> String? in
                    switch value {
                    case .null: return nil
                    case .text(let s), .jsonb(let s), .other(_, let s): return s
                    case .int64(let v): return String(v)
                    case .int32(let v): return String(v)
                    case .float32(let v): return String(v)
                    case .bool(let v): return String(v)
                    default: return "\(value)"
                    }
                }
            }
        }
    }

    @Test("every file in sql/queries has a leading comment and is covered here")
    func filesAreDocumentedAndCovered() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: PostgresTestDatabase.sqlDirectory.appendingPathComponent("queries").path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(names.count >= 6)
        #expect(names == Self.covered)
        for name in names {
            let text = try String(contentsOf: PostgresTestDatabase.sqlDirectory.appendingPathComponent("queries/\(name)"), encoding: .utf8)
            #expect(text.hasPrefix("-- "), "\(name) must start with a comment saying what it answers")
        }
    }

    static let covered = [
        "01_open_alerts_by_risk.sql", "02_precision_by_day.sql", "03_precision_by_model_version.sql", "04_card_timeline.sql",
        "05_model_history.sql", "06_dead_letters_last_7_days.sql", "07_block_rate_by_day.sql", "08_open_alert_backlog_by_age.sql",
    ]

    @Test("each analyst query returns the rows the seed implies")
    func queries() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            try AnalystSeed.insert(into: session, schema: target.schema)

            let open = try Self.run("01_open_alerts_by_risk.sql", session, target)
            #expect(open.map { [$0[1], $0[2], $0[3]] } == [["0.97", "block", "card-A"], ["0.55", "review", "card-E"]])

            let byDay = try Self.run("02_precision_by_day.sql", session, target)
            #expect(byDay.count == 1)
            #expect(byDay.first.map { Array($0.dropFirst()) } == ["5", "2", "1", "2", "0.6667"])

            let byModel = try Self.run("03_precision_by_model_version.sql", session, target)
            #expect(byModel.map { [$0[0], $0[1], $0[3], $0[4], $0[5], $0[6], $0[7]] } == [
                ["1", "retired", "2", "1", "1", "0", "0.5000"],
                ["2", "live", "3", "1", "0", "2", "1.0000"],
            ])

            let timeline = try Self.run("04_card_timeline.sql", session, target)
            #expect(timeline.map { [$0[1], $0[2]] } == [
                ["decision", "e1"], ["decision", "e2"], ["decision", "e3"], ["label", "e1"], ["alert", "e3"],
            ])
            #expect(timeline[3][8] == "fraud")

            let models = try Self.run("05_model_history.sql", session, target)
            #expect(models.map { [$0[0], $0[1], $0[3], $0[8]] } == [
                ["1", nil, "retired", "0.91"], ["2", "1", "live", "0.93"], ["3", "2", "candidate", nil], ["4", "2", "rejected", nil],
            ])

            let letters = try Self.run("06_dead_letters_last_7_days.sql", session, target)
            #expect(letters.map { [$0[0], $0[1], $0[4]] } == [
                ["invalid_json", "3", "unexpected character"], ["missing_field", "1", "card_id is missing"],
            ])

            let blockRate = try Self.run("07_block_rate_by_day.sql", session, target)
            #expect(blockRate.map { Array($0.dropFirst()) } == [["1", "4", "1", "0.2500"], ["2", "6", "1", "0.1667"]])

            let backlog = try Self.run("08_open_alert_backlog_by_age.sql", session, target)
            #expect(backlog == [["1: under 1 hour", "2", "0.9700"]])
        }
    }
}
