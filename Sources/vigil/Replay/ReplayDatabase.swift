// A finished replay as a row of <schema>.backtest_runs (VigilService.BacktestRun).
import Foundation
import VigilReplay
import VigilService

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
        let finished = Date()
        let run = BacktestRun(name: metrics.name, source: source, modelVersion: modelVersion, configurationJSON: configJSON,
                              metricsJSON: metricsJSON, startedAt: finished.addingTimeInterval(-(timing?.seconds ?? 0)),
                              finishedAt: finished, events: Int64(metrics.events))
        return try await run.record(schema: schema, configuration: try PostgresConfiguration.fromEnvironment(ProcessInfo.processInfo.environment))
    }
}
