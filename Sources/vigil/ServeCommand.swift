// `vigil serve`: runs the fraud pipeline (VigilService) until SIGTERM/SIGINT, an idle
// period or an event limit. Only settings and signals live here.
import ArgumentParser
import Foundation
import UnixSignals
import VigilService

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Consume transactions from Kafka, score and decide them, and audit every decision in PostgreSQL exactly once.",
        discussion: """
            Settings: defaults, then --config FILE (JSON: brokers, database_url, schema, topic, labels_topic, group, batch_size,
            batch_wait_ms, snapshot_every, dead_letter_payload_limit, session_timeout_ms, cold_start_events,
            review_threshold, block_threshold, feature_spec, max_cards, recent_events, metrics_port, metrics_address, health_stall_ms,
            lag_interval_ms, training, training_min_labels, training_publish_every_labels, training_publish_interval_ms,
            training_labels_per_step, training_frauds_per_step, training_publish_min_labels,
            training_min_publish_gap_ms, training_guard_window, training_guard_min_frauds, training_guard_margin_se,
            training_reconstruction_tolerance, offset_anomaly_policy (halt|skip),
            offset_check_grace_ms, db_statement_timeout_ms, db_lock_timeout_ms, db_idle_in_transaction_timeout_ms,
            db_retry_max_backoff_ms, application_name, partition_days_ahead, partition_maintenance_interval_ms, model_retention_versions,
            kafka {librdkafka properties}, learner {training_topic, lease_ttl_ms, compression}, audit {signing_key_file, features, feature_sample_rate}, api {enabled, address, port,
            max_in_flight, batch_size, max_batch_events, commit (durable|relaxed), request_timeout_ms, partitioner
            (consistent|murmur2), retry_after_s}), then the environment (VIGIL_KAFKA_BROKERS, VIGIL_DATABASE_URL, VIGIL_SCHEMA,
            VIGIL_TOPIC, VIGIL_LABELS_TOPIC, VIGIL_TRAINING_TOPIC, VIGIL_GROUP, VIGIL_METRICS_PORT, VIGIL_METRICS_ADDRESS, VIGIL_AUDIT_SIGNING_KEY_FILE,
            VIGIL_API, VIGIL_API_ADDRESS, VIGIL_API_PORT, VIGIL_API_MAX_IN_FLIGHT, VIGIL_API_BATCH_SIZE, VIGIL_API_COMMIT),
            then these flags.
            GET /metrics (Prometheus), /healthz and /readyz on --metrics-address:--metrics-port while serving.
            With --api: POST /v1/score, POST /v1/score/batch and GET /v1/openapi.json on --api-address:--api-port
            (docs/api.md).
            The database password comes from PGPASSFILE / ~/.pgpass or PGPASSWORD, never from the command line.
            SIGTERM or SIGINT: finish and commit the current batch, leave the group, exit 0. Database outages, model
            versions that cannot be used and offset anomalies do not stop serve (docs/serve.md, Faults).
            Logs are JSON lines on standard error; the final summary is one JSON line on standard output.
            Exit codes: 0 stopped cleanly, 64 bad settings, 1 other errors (nothing uncommitted is kept).
            """
    )

    @Option(help: "JSON config file.") var config: String?
    @Option(help: "Kafka bootstrap servers, comma-separated.") var brokers: String?
    @Option(help: "PostgreSQL URL or libpq keywords, without password.") var databaseURL: String?
    @Option(help: "Schema holding Vigil's tables.") var schema: String?
    @Option(help: "Transactions topic.") var topic: String?
    @Option(help: "Labels topic, stored in the labels table (default: not consumed).") var labelsTopic: String?
    @Option(help: "Consumer group.") var group: String?
    @Option(help: "Most messages per batch (one database transaction).") var batchSize: Int?
    @Option(help: "Longest wait for a batch to fill, in milliseconds.") var batchWaitMs: Int?
    @Option(help: "Stop after no message arrived for this long (e.g. 5s, 500ms).") var exitWhenIdle: String?
    @Option(help: "Stop after this many events were decided or dead-lettered.") var maxEvents: Int?
    @Option(help: "Log level: debug, info, warning, error.") var logLevel = "info"
    @Flag(help: "Do not train and promote new models while serving.") var noTraining = false
    @Option(help: "Port of /metrics, /healthz and /readyz (default 9464; 0 disables).") var metricsPort: Int?
    @Option(help: "Address the metrics endpoint binds to (default 127.0.0.1).") var metricsAddress: String?
    @Option(help: "Key file that signs every audit chain link (see vigil audit keygen).") var auditSigningKeyFile: String?
    @Flag(help: "Also score events synchronously over HTTP: POST /v1/score (docs/api.md).") var api = false
    @Option(help: "Address the scoring endpoint binds to (default 127.0.0.1).") var apiAddress: String?
    @Option(help: "Port of the scoring endpoint (default 8080; 0: any free port).") var apiPort: Int?
    @Option(help: "When a scoring answer leaves: durable (after its row committed, default) or relaxed (before).") var apiCommit: String?

    func validate() throws {
        if let exitWhenIdle, ServeConfiguration.parseDuration(exitWhenIdle) == nil {
            throw ValidationError("--exit-when-idle takes a duration such as 5s or 500ms, got \(exitWhenIdle)")
        }
        if let maxEvents, maxEvents <= 0 { throw ValidationError("--max-events must be positive") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let batchWaitMs, batchWaitMs < 0 { throw ValidationError("--batch-wait-ms must not be negative") }
        if let apiCommit, ScoringConfiguration.Commit(rawValue: apiCommit) == nil {
            throw ValidationError("--api-commit must be durable or relaxed")
        }
        guard ["debug", "info", "warning", "error"].contains(logLevel) else {
            throw ValidationError("--log-level must be debug, info, warning or error")
        }
    }

    func settings() throws -> ServeConfiguration {
        var c = try ServeConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
        if let brokers { c.brokers = brokers.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let databaseURL { c.databaseURL = databaseURL }
        if let schema { c.schema = schema }
        if let topic { c.topic = topic }
        if let group { c.groupID = group }
        if let labelsTopic { c.labelsTopic = labelsTopic.isEmpty ? nil : labelsTopic }
        if let batchSize { c.batchSize = batchSize }
        if let batchWaitMs { c.batchWait = .milliseconds(batchWaitMs) }
        if let exitWhenIdle { c.exitWhenIdle = ServeConfiguration.parseDuration(exitWhenIdle) }
        if let maxEvents { c.maxEvents = maxEvents }
        if noTraining { c.training = false }
        if let metricsPort { c.telemetry.port = metricsPort }
        if let metricsAddress { c.telemetry.address = metricsAddress }
        if let auditSigningKeyFile { c.audit.signingKeyFile = auditSigningKeyFile }
        if api { c.api.enabled = true }
        if let apiAddress { c.api.address = apiAddress }
        if let apiPort { c.api.port = apiPort }
        if let apiCommit, let commit = ScoringConfiguration.Commit(rawValue: apiCommit) { c.api.commit = commit }
        return c
    }

    func run() async throws {
        let level: ServiceLog.Level = switch logLevel { case "debug": .debug; case "warning": .warning; case "error": .error; default: .info }
        let log = ServiceLog(minimumLevel: level)
        let pipeline: FraudPipeline
        do {
            pipeline = try FraudPipeline(configuration: try settings(), log: log)
        } catch let error as ServiceError {
            FileHandle.standardError.write(Data("vigil serve: \(error.explanation)\n".utf8))
            throw ExitCode(64)
        }
        do {
            // The ServiceGroup turns SIGTERM and SIGINT into a graceful shutdown.
            let summary = try await pipeline.run(signals: [.sigterm, .sigint])
            print(#"{"decided":\#(summary.decided),"dead_lettered":\#(summary.deadLettered),"alerts":\#(summary.alerts),"batches":\#(summary.batches),"labels":\#(summary.labels),"fenced_batches":\#(summary.fencedBatches),"model_version":\#(summary.modelVersion)}"#)
        } catch {
            FileHandle.standardError.write(Data("vigil serve: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
