// `vigil replay --db`: one row in <schema>.backtest_runs per configuration, holding the same
// metrics as metrics.json (plus timing) and the run's configuration.
import Foundation
import Testing
import VigilPostgres
import VigilSimulator

@Suite("vigil replay --db")
struct ReplayDatabaseTests {
    @Test("each configuration becomes a backtest_runs row with its metrics, timing and configuration")
    func backtestRunsRows() throws {
        try PostgresTestDatabase.withMigratedSchema { session, target in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(PostgresTestDatabase.uniqueName("replaydb"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            var text = ""
            for case .transaction(let t) in TransactionSimulator(configuration: SimulatorConfiguration(), maxTransactions: 1500) {
                text += t.json(truth: true) + "\n"
            }
            let events = dir.appendingPathComponent("events.jsonl").path
            try text.write(toFile: events, atomically: true, encoding: .utf8)
            let out = dir.appendingPathComponent("out").path
            let r = try ReplayKafkaTests.replay([events, "--db", "--schema", target.schema, "--name", "db-test", "--freeze",
                                                 "--warm-up", "256", "--compare", "name=db-test-cae,models=cae", "--out", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("recorded \(target.schema).backtest_runs run_id"))

            let schema = quoteIdentifier(target.schema)
            let rows = try session.query("""
                SELECT name, source, events, config->>'freeze', config->>'models', metrics->'timing' IS NOT NULL,
                       (metrics->>'events')::bigint, (metrics->>'evaluated_events')::bigint, finished_at >= started_at
                FROM \(schema).backtest_runs ORDER BY run_id
                """, [])
            #expect(rows.count == 2)
            let names = try rows.map { try $0.decode(0, as: String.self) }
            #expect(names == ["db-test", "db-test-cae"])
            for (row, model) in zip(rows, ["both", "cae"]) {
                #expect(try row.decode(1, as: String.self) == events)
                #expect(try row.decode(2, as: Int.self) == 1500)
                #expect(try row.decode(3, as: String.self) == "true")
                #expect(try row.decode(4, as: String.self) == model)
                #expect(try row.decode(5, as: Bool.self))
                #expect(try row.decode(6, as: Int.self) == 1500)
                #expect(try row.decode(8, as: Bool.self))
            }
            // The row's metrics are the metrics file's (the file holds them without timing).
            let file = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/metrics-db-test.json"))) as? [String: Any])
            #expect(try rows.first!.decode(7, as: Int.self) == file["evaluated_events"] as? Int)
            #expect(file["evaluated_events"] as? Int == 1500 - 256)
        }
    }
}
