// Reading the decisions and labels back (the scoring API's repeats, the trainer's label
// poll), the decisions table's daily partitions, and the backtest runs `vigil replay` records.
import Foundation
import VigilPostgres

extension VigilSchema {
    /// The earliest stored decision of each of `eventIDs` on one of `topics`. The ids go in
    /// as one array (`= ANY`): each daily partition is then one bitmap scan of its event-id
    /// index, planned in a third of the time a semi-join over the unnested list takes.
    func storedDecisions(_ eventIDs: [String], topics: [String], on session: PostgresSession) throws -> [ScoredDecision] {
        try session.queryPrepared("vigil_api_stored_decisions", """
            SELECT DISTINCT ON (d.event_id) d.event_id, d.decision, d.risk, d.anomaly_score, d.classifier_score, d.model_version,
                   d.reasons, (EXTRACT(EPOCH FROM d.decided_at) * 1000000)::bigint AS decided_at_micros
            FROM \(s).decisions d
            WHERE d.event_id = ANY (ARRAY(SELECT jsonb_array_elements_text(\(PostgresValue.jsonb(Self.jsonArray(eventIDs)))::jsonb)))
              AND d.topic = ANY (ARRAY(SELECT jsonb_array_elements_text(\(PostgresValue.jsonb(Self.jsonArray(topics)))::jsonb)))
            ORDER BY d.event_id, d.decided_at, d.kafka_offset
            """).map { row in
            ScoredDecision(eventID: try row.decode("event_id"), outcome: try row.decode("decision"), risk: try row.decode("risk"),
                           anomalyScore: try row.decode("anomaly_score"), fraudProbability: try row.decode("classifier_score"),
                           modelVersion: try row.decode("model_version"), reasons: try row.decode("reasons"),
                           decidedAtMicros: try row.decode("decided_at_micros"))
        }
    }

    private static func jsonArray(_ strings: [String]) -> String {
        var json = "["
        for (i, string) in strings.enumerated() {
            if i > 0 { json += "," }
            json += JSONText.string(string)
        }
        return json + "]"
    }

    /// The highest label id stored (0 for none).
    func lastLabelID(on session: PostgresSession) throws -> Int64 {
        try session.query("SELECT coalesce(max(label_id), 0) AS last FROM \(s).labels").first.map { try $0.decode("last") } ?? 0
    }

    /// A stored label as the trainer joins it to a scored vector.
    struct StoredLabel: Sendable {
        var labelID: Int64
        var eventID: String
        var isFraud: Bool
        var labeledAtMillis: Int64
    }

    /// Up to `limit` labels stored after `labelID`, in id order.
    func labels(after labelID: Int64, limit: Int, on session: PostgresSession) throws -> [StoredLabel] {
        try session.query("""
            SELECT label_id, event_id, label = 'fraud' AS is_fraud, (extract(epoch FROM labeled_at) * 1000)::bigint AS labeled_at_millis
            FROM \(s).labels WHERE label_id > \(labelID) ORDER BY label_id LIMIT \(limit)
            """).map {
            StoredLabel(labelID: try $0.decode("label_id"), eventID: try $0.decode("event_id"), isFraud: try $0.decode("is_fraud"),
                        labeledAtMillis: try $0.decode("labeled_at_millis"))
        }
    }

    /// `create_decision_partitions`: the decisions table's partitions from yesterday (UTC;
    /// late events) through `days` days on; how many were created.
    func createDecisionPartitions(days: Int, on session: PostgresSession) throws -> Int {
        let created = try session.query("""
            SELECT \(s).create_decision_partitions(\(Int32(clamping: days)), ((now() AT TIME ZONE 'UTC')::date - 1)) AS created
            """).first
        return Int(try created?.decode("created", as: Int32?.self) ?? 0)
    }

    /// One finished backtest in `backtest_runs`; its run_id.
    func insertBacktestRun(_ run: BacktestRun, on session: PostgresSession) throws -> Int64 {
        try session.query("""
            INSERT INTO \(s).backtest_runs (name, source, model_version, config, started_at, finished_at, events, metrics)
            VALUES (\(run.name), \(run.source), \(run.modelVersion), \(PostgresValue.jsonb(run.configurationJSON)), \(run.startedAt),
                    \(run.finishedAt), \(run.events), \(PostgresValue.jsonb(run.metricsJSON)))
            RETURNING run_id
            """).single().decode("run_id")
    }
}

/// A finished `vigil replay` run as `backtest_runs` stores it.
public struct BacktestRun: Sendable {
    public var name: String
    public var source: String
    public var modelVersion: Int64?
    /// The run's configuration and metrics as JSON documents (jsonb columns).
    public var configurationJSON: String
    public var metricsJSON: String
    public var startedAt: Date
    public var finishedAt: Date
    public var events: Int64

    public init(name: String, source: String, modelVersion: Int64?, configurationJSON: String, metricsJSON: String,
                startedAt: Date, finishedAt: Date, events: Int64) {
        (self.name, self.source, self.modelVersion) = (name, source, modelVersion)
        (self.configurationJSON, self.metricsJSON) = (configurationJSON, metricsJSON)
        (self.startedAt, self.finishedAt, self.events) = (startedAt, finishedAt, events)
    }

    /// Records the run in `schema` through a connection of its own (`PG*` environment); its run_id.
    public func record(schema: String, configuration: PostgresConfiguration) async throws -> Int64 {
        let connection = PostgresConnection(configuration: configuration, label: "vigil.replay")
        let statements = VigilSchema(schema), run = self
        do {
            let id = try await connection.withSession { try statements.insertBacktestRun(run, on: $0) }
            await connection.close()
            return id
        } catch {
            await connection.close()
            throw error
        }
    }
}
