// A finished replay as a row of <schema>.backtest_runs (columns from sql/migrations/0001).
import Foundation
import VigilPostgres
import VigilReplay

enum ReplayDatabase {
    /// Schema names are identifiers and cannot be sent as parameters: only plain lower-case ones are accepted.
    static func checkedSchema(_ schema: String) throws -> String {
        guard let first = schema.unicodeScalars.first, ("a"..."z").contains(first) || first == "_",
              schema.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }), schema.count <= 63 else {
            throw ReplayError(.invalidConfiguration, "--schema must be a plain lower-case identifier")
        }
        return schema
    }

    /// Inserts the run and returns its run_id. Metrics (with timing under "timing") and the
    /// configuration go into the jsonb columns; every value is a parameter.
    static func record(_ metrics: ReplayMetrics, timing: ReplayTiming?, source: String, schema: String, modelVersion: Int64?) async throws -> Int64 {
        let schema = try checkedSchema(schema)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        var metricsJSON = String(decoding: try metrics.encodedJSON(), as: UTF8.self)
        if let timing {
            // {"timing": {...}, ...metrics}: splice the timing object in front of the metrics' keys.
            let t = String(decoding: try encoder.encode(timing), as: UTF8.self)
            metricsJSON = "{\"timing\":\(t)," + metricsJSON.drop { $0 != "\"" }
        }
        let configJSON = String(decoding: try encoder.encode(metrics.configuration), as: UTF8.self)
        let configuration = try PostgresConfiguration.fromEnvironment(ProcessInfo.processInfo.environment)
        let connection = PostgresConnection(configuration: configuration, label: "vigil.replay")
        let finished = Date()
        let started = finished.addingTimeInterval(-(timing?.seconds ?? 0))
        let rows: PostgresRows
        do {
            rows = try await connection.query(
            "INSERT INTO \(schema).backtest_runs (name, source, model_version, config, started_at, finished_at, events, metrics) "
                + "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING run_id",
            [.text(metrics.name), .text(source), modelVersion.map { .int64($0) } ?? .null, .jsonb(configJSON),
             .timestamptz(started), .timestamptz(finished), .int64(Int64(metrics.events)), .jsonb(metricsJSON)])
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        guard let id = rows.first.flatMap({ try? $0.decode(0, as: Int64.self) }) else {
            throw ReplayError(.io, "the backtest_runs insert returned no run_id")
        }
        return id
    }
}
