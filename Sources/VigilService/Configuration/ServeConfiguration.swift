// Settings of `vigil serve`, with documented defaults, and how they are layered: a JSON
// config file, then VIGIL_... environment variables, then flags (applied by the command).
import Foundation
import VigilEngine
import VigilFeatures
import VigilPostgres

public struct ServeConfiguration: Sendable {
    /// Kafka `host:port` pairs. Required (file `brokers`, env VIGIL_KAFKA_BROKERS).
    public var brokers: [String] = []
    /// PostgreSQL URL or keywords, without password (file `database_url`, env VIGIL_DATABASE_URL).
    /// Default: nil (libpq's PG* variables).
    public var databaseURL: String?
    /// Schema holding the tables. Default: "vigil" (env VIGIL_SCHEMA).
    public var schema = "vigil"
    /// Transactions topic. Default: "transactions" (env VIGIL_TOPIC).
    public var topic = "transactions"
    /// Labels topic (chargebacks, analyst verdicts), stored in `labels` exactly once with the
    /// same offset fencing. Default: nil (not consumed) (file `labels_topic`, env VIGIL_LABELS_TOPIC).
    public var labelsTopic: String?
    /// Consumer group; also the key of stored offsets and snapshots. Default: "vigil" (env VIGIL_GROUP).
    public var groupID = "vigil"
    /// Recorded with every offset advance. Default: hostname and process id.
    public var memberName = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    /// Most messages per batch (one transaction). Default: 5,000.
    public var batchSize = 5_000
    /// Longest wait for the first message of a batch. A batch never waits to fill: it takes
    /// what the consumer has fetched (up to `batchSize`), so it grows with the arrival rate
    /// while the previous one commits and a lone event is decided at once. Also the loop's
    /// tick when idle (stop and idleness checks). Default: 50 ms.
    public var batchWait: Duration = .milliseconds(50)
    /// A partition's feature state is snapshotted with the batch after this many events
    /// (and on revocation and shutdown). Default: 100,000.
    public var snapshotEvery = 100_000
    /// Dead-letter payloads are cut to this many bytes. Default: 16,384.
    public var deadLetterPayloadLimit = 16_384
    /// Stop after no message arrived for this long. Default: nil (run until SIGTERM).
    public var exitWhenIdle: Duration?
    /// Before the group first assigns partitions, idleness counts only after this long, so a
    /// slow group join (a loaded broker) is not taken for an empty stream. Default: 30 s.
    public var groupJoinGrace: Duration = .seconds(30)
    /// Stop after this many events were decided or dead-lettered. Default: nil.
    public var maxEvents: Int?
    /// Kafka group session timeout. Default: 10 s.
    public var sessionTimeout: Duration = .seconds(10)
    /// With an empty registry, train the first model on this many valid events. Default: 2,000.
    public var coldStartEvents = 2_000
    /// Review and block thresholds and rules. Default: the engine's (0.5 / 0.9, no rules).
    public var decisionPolicy = DecisionPolicyConfiguration()
    /// Default: `FeatureSpec.standard` (file `feature_spec` names a spec JSON file).
    public var featureSpec = FeatureSpec.standard
    /// Default: the features module's bounds. `max_cards` (and the merchant and terminal
    /// bounds) are the whole process's budget: each partition of the topic gets an equal share
    /// (`StateBudget`), so a member holding every partition stays within it.
    public var featureState = FeatureStateConfiguration()
    /// How often the live model version is checked in the database, so `vigil models promote`
    /// and `rollback` take effect while the service runs. Default: 2 s.
    public var modelPollInterval: Duration = .seconds(2)
    /// How often a progress line (counts, rate, partitions, model version) is logged. Default: 10 s.
    public var progressInterval: Duration = .seconds(10)
    /// Keep each event's event-to-decision latency (commit time minus the Kafka message
    /// timestamp) in the run summary, for benchmarks. Default: false.
    public var recordLatencies = false
    /// Raw librdkafka consumer properties (TLS, SASL, tuning). Default: none.
    public var kafkaProperties: [String: String] = [:]
    /// Keep training while serving: scored vectors and labels feed an OnlineTrainer whose
    /// guarded candidates are stored and promoted in `models`. Default: true.
    public var training = true
    /// The learner's knobs; production defaults: every label learnt within milliseconds of its
    /// arrival (steps of 8, a fraud label in a step of its own), a publication check every
    /// 1,000 labels or 30 s once 64 were learnt, publications at least 1 s apart, the classifier
    /// learning from 200 labels on. Config keys `training_min_labels`, `training_labels_per_step`,
    /// `training_frauds_per_step`, `training_publish_every_labels`, `training_publish_interval_ms`,
    /// `training_publish_min_labels`, `training_min_publish_gap_ms`, `training_guard_window`,
    /// `training_guard_min_frauds`, `training_guard_margin_se`, `training_reconstruction_tolerance`.
    public var trainer = OnlineTrainerConfiguration()
    /// The /metrics, /healthz, /readyz endpoint (Telemetry/TelemetryConfiguration.swift).
    public var telemetry = TelemetryConfiguration()
    /// What to do when a partition's stored offset does not meet its log (a retention gap, or
    /// a stored offset past the log end): `halt` the partition or `skip` (record and go on).
    /// Always logged, counted and recorded in `offset_anomalies`. Default: `.halt` (file
    /// `offset_anomaly_policy`).
    public var offsetAnomalyPolicy: OffsetAnomalyPolicy = .halt
    /// How long after an assignment the log end is first compared with the stored offset, so
    /// the fetcher has delivered or learnt the log end. Default: 5 s (file `offset_check_grace_ms`).
    public var offsetCheckGrace: Duration = .seconds(5)
    /// PostgreSQL session limits, sent with every connection (also after a reconnect). 0 turns
    /// one off. Defaults: `statement_timeout` 30 s (a stuck statement, such as a stalled
    /// member's COPY, ends), `lock_timeout` 10 s (a member waiting on a stalled member's offset
    /// row locks gets a retriable error instead of waiting forever), and
    /// `idle_in_transaction_session_timeout` 30 s (a member stopped inside a transaction loses
    /// its session and so its locks). Files keys `db_statement_timeout_ms`, `db_lock_timeout_ms`,
    /// `db_idle_in_transaction_timeout_ms`.
    public var statementTimeout: Duration = .seconds(30)
    public var lockTimeout: Duration = .seconds(10)
    public var idleInTransactionTimeout: Duration = .seconds(30)
    /// Waits between retries of a batch after a lost connection or a transient error:
    /// 100 ms doubling to `db_retry_max_backoff_ms` (default 5 s), with jitter. Serve retries
    /// until the database is back or it is stopped.
    public var databaseRetry = RetryBackoff()
    /// `application_name` of serve's PostgreSQL sessions (`<name>`, `<name>-trainer`,
    /// `<name>-models`, `<name>-maintenance`), so operators find them in pg_stat_activity.
    /// Default: "vigil-serve" (file `application_name`).
    public var applicationName = "vigil-serve"
    /// Daily `decisions` partitions are created this many days ahead, at start and every
    /// `partitionMaintenanceInterval`. Default: 7 (file `partition_days_ahead`).
    public var partitionDaysAhead = 7
    /// Default: 24 h (file `partition_maintenance_interval_ms`).
    public var partitionMaintenanceInterval: Duration = .seconds(86_400)
    /// Registry retention: after each publication the learner keeps the weights of this many
    /// newest versions (and the live one) and prunes older ones' (rows stay; about 8.5 MB a
    /// version with the standard spec). 0 keeps every version's weights. Default: 100 (file
    /// `model_retention_versions`).
    public var modelRetentionVersions = 100
    /// The training topic and the learner lease of learning across the group
    /// (LearnerGroupConfiguration.swift).
    public var learner = LearnerGroupConfiguration()
    /// Feature vectors kept in the audit trail and the chain's signing key (AuditConfiguration.swift).
    public var audit = AuditConfiguration()
    /// Synchronous scoring over HTTP, `POST /v1/score` (Scoring/ScoringConfiguration.swift).
    public var api = ScoringConfiguration()

    public init() {}

    /// Defaults, then `file` (when given), then the environment.
    public static func load(file: String?, environment: [String: String]) throws -> ServeConfiguration {
        var configuration = ServeConfiguration()
        if let file { try configuration.apply(file: file) }
        configuration.apply(environment: environment)
        try configuration.telemetry.apply(environment: environment)
        configuration.audit.apply(environment: environment)
        configuration.learner.apply(environment: environment)
        try configuration.api.apply(environment: environment)
        return configuration
    }

    /// Keys of the JSON config file (all optional).
    struct FileSettings: Decodable {
        var brokers: String?
        var database_url: String?
        var schema: String?
        var topic: String?
        var group: String?
        var labels_topic: String?
        var batch_size: Int?
        var batch_wait_ms: Int?
        var snapshot_every: Int?
        var dead_letter_payload_limit: Int?
        var session_timeout_ms: Int?
        var cold_start_events: Int?
        var review_threshold: Float?
        var block_threshold: Float?
        var feature_spec: String?
        var max_cards: Int?
        var recent_events: Int?
        var kafka: [String: String]?
        var training: Bool?
        var training_min_labels: Int?
        var training_labels_per_step: Int?
        var training_frauds_per_step: Int?
        var training_publish_min_labels: Int?
        var training_publish_every_labels: Int?
        var training_publish_interval_ms: Int?
        var training_min_publish_gap_ms: Int?
        var training_guard_window: Int?
        var training_guard_min_frauds: Int?
        var training_guard_margin_se: Double?
        var training_reconstruction_tolerance: Double?
        var offset_anomaly_policy: String?
        var offset_check_grace_ms: Int?
        var db_statement_timeout_ms: Int?
        var db_lock_timeout_ms: Int?
        var db_idle_in_transaction_timeout_ms: Int?
        var db_retry_max_backoff_ms: Int?
        var application_name: String?
        var partition_days_ahead: Int?
        var partition_maintenance_interval_ms: Int?
        var model_retention_versions: Int?
    }

    public mutating func apply(file: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw ServiceError(.invalidConfiguration, "cannot read config file \(file): \(error.localizedDescription)")
        }
        let settings: FileSettings
        do { settings = try JSONDecoder().decode(FileSettings.self, from: data) } catch {
            throw ServiceError(.invalidConfiguration, "config file \(file) is not valid", underlying: error)
        }
        if let v = settings.brokers { brokers = Self.brokerList(v) }
        if let v = settings.database_url { databaseURL = v }
        if let v = settings.schema { schema = v }
        if let v = settings.topic { topic = v }
        if let v = settings.group { groupID = v }
        if let v = settings.labels_topic { labelsTopic = v.isEmpty ? nil : v }
        if let v = settings.batch_size { batchSize = v }
        if let v = settings.batch_wait_ms { batchWait = .milliseconds(v) }
        if let v = settings.snapshot_every { snapshotEvery = v }
        if let v = settings.dead_letter_payload_limit { deadLetterPayloadLimit = v }
        if let v = settings.session_timeout_ms { sessionTimeout = .milliseconds(v) }
        if let v = settings.cold_start_events { coldStartEvents = v }
        if let v = settings.review_threshold { decisionPolicy.reviewThreshold = v }
        if let v = settings.block_threshold { decisionPolicy.blockThreshold = v }
        if let v = settings.feature_spec {
            do { featureSpec = try FeatureSpec.load(path: v) } catch {
                throw ServiceError(.invalidConfiguration, "feature spec \(v)", underlying: error)
            }
        }
        if let v = settings.max_cards { featureState.maxCards = v }
        if let v = settings.recent_events { featureState.recentEvents = v }
        if let v = settings.kafka { kafkaProperties.merge(v) { _, new in new } }
        if let v = settings.training { training = v }
        if let v = settings.training_min_labels { trainer.minimumLabels = v }
        if let v = settings.training_labels_per_step { trainer.labelsPerStep = v }
        if let v = settings.training_frauds_per_step { trainer.fraudsPerStep = v }
        if let v = settings.training_publish_min_labels { trainer.publishMinimumLabels = v }
        if let v = settings.training_publish_every_labels { trainer.publishEveryLabels = v }
        if let v = settings.training_publish_interval_ms { trainer.publishInterval = .milliseconds(v) }
        if let v = settings.training_min_publish_gap_ms { trainer.minimumPublishGap = .milliseconds(v) }
        if let v = settings.training_guard_window { trainer.guardWindow = v }
        if let v = settings.training_guard_min_frauds { trainer.guardMinimumFrauds = v }
        if let v = settings.training_guard_margin_se { trainer.guardMarginStandardErrors = v }
        if let v = settings.training_reconstruction_tolerance { trainer.reconstructionTolerance = v }
        if let v = settings.offset_anomaly_policy {
            guard let policy = OffsetAnomalyPolicy(rawValue: v) else {
                throw ServiceError(.invalidConfiguration, "offset_anomaly_policy must be halt or skip, got \(v)")
            }
            offsetAnomalyPolicy = policy
        }
        if let v = settings.offset_check_grace_ms { offsetCheckGrace = .milliseconds(v) }
        if let v = settings.db_statement_timeout_ms { statementTimeout = .milliseconds(v) }
        if let v = settings.db_lock_timeout_ms { lockTimeout = .milliseconds(v) }
        if let v = settings.db_idle_in_transaction_timeout_ms { idleInTransactionTimeout = .milliseconds(v) }
        if let v = settings.db_retry_max_backoff_ms { databaseRetry.maximum = .milliseconds(v) }
        if let v = settings.application_name { applicationName = v }
        if let v = settings.partition_days_ahead { partitionDaysAhead = v }
        if let v = settings.model_retention_versions { modelRetentionVersions = v }
        if let v = settings.partition_maintenance_interval_ms { partitionMaintenanceInterval = .milliseconds(v) }
        try telemetry.apply(fileData: data, file: file)
        try audit.apply(fileData: data, file: file)
        try learner.apply(fileData: data, file: file)
        try api.apply(fileData: data, file: file)
    }

    /// The libpq settings of one of serve's connections: the URL (or PG* variables), the
    /// application name `applicationName` + `suffix`, and the session limits as startup
    /// options, so they hold again after every reconnect.
    public func postgresConfiguration(suffix: String = "") throws -> PostgresConfiguration {
        var pg = try databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment([:])
        pg.keywords["application_name"] = applicationName + suffix
        let limits = sessionOptions
        if !limits.isEmpty { pg.keywords["options"] = [pg.keywords["options"], limits].compactMap { $0 }.joined(separator: " ") }
        return pg
    }

    /// `-c name=value` for each session limit that is on.
    var sessionOptions: String {
        [("statement_timeout", statementTimeout), ("lock_timeout", lockTimeout),
         ("idle_in_transaction_session_timeout", idleInTransactionTimeout)]
            .filter { $0.1 > .zero }
            .map { "-c \($0.0)=\(max(1, Int64(($0.1.seconds * 1000).rounded())))" }
            .joined(separator: " ")
    }

    public mutating func apply(environment: [String: String]) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let v = value("VIGIL_KAFKA_BROKERS") { brokers = Self.brokerList(v) }
        if let v = value("VIGIL_DATABASE_URL") { databaseURL = v }
        if let v = value("VIGIL_SCHEMA") { schema = v }
        if let v = value("VIGIL_TOPIC") { topic = v }
        if let v = value("VIGIL_GROUP") { groupID = v }
        if let v = value("VIGIL_LABELS_TOPIC") { labelsTopic = v }
    }

    /// Refuses settings the service cannot run with, naming the setting.
    public func validate() throws {
        func fail(_ message: String) -> ServiceError { ServiceError(.invalidConfiguration, message) }
        guard !brokers.isEmpty else { throw fail("no Kafka brokers: set VIGIL_KAFKA_BROKERS, `brokers` in the config file or --brokers") }
        guard !topic.isEmpty, !groupID.isEmpty else { throw fail("topic and group must not be empty") }
        guard labelsTopic != topic else { throw fail("the labels topic must differ from the transactions topic") }
        guard batchSize > 0, batchSize <= 1_000_000 else { throw fail("batch size must be in 1...1000000, got \(batchSize)") }
        guard batchWait >= .zero else { throw fail("batch wait must not be negative") }
        guard snapshotEvery > 0 else { throw fail("snapshot interval must be positive, got \(snapshotEvery)") }
        guard deadLetterPayloadLimit >= 0 else { throw fail("dead-letter payload limit must not be negative") }
        guard featureState.maxCards > 0, featureState.recentEvents > 0 else { throw fail("max_cards and recent_events must be positive") }
        guard coldStartEvents >= 64 else { throw fail("a cold start needs at least 64 events, got \(coldStartEvents)") }
        if let maxEvents, maxEvents <= 0 { throw fail("--max-events must be positive, got \(maxEvents)") }
        if training {
            do { try trainer.validate() } catch { throw fail("training settings: \(error)") }
        }
        if let databaseURL, databaseURL.contains("password=") || databaseURL.range(of: #"://[^/@]*:[^/@]*@"#, options: .regularExpression) != nil {
            throw fail("the database URL must not contain a password; use PGPASSFILE or PGPASSWORD")
        }
        do { _ = try DecisionPolicy(configuration: decisionPolicy) } catch { throw fail("\(error)") }
        guard statementTimeout >= .zero, lockTimeout >= .zero, idleInTransactionTimeout >= .zero else {
            throw fail("database timeouts must not be negative (0 turns one off)")
        }
        guard databaseRetry.initial > .zero, databaseRetry.maximum >= databaseRetry.initial else {
            throw fail("db_retry_max_backoff_ms must be at least the first wait (100 ms)")
        }
        guard offsetCheckGrace >= .zero else { throw fail("offset_check_grace_ms must not be negative") }
        guard modelRetentionVersions >= 0 else { throw fail("model_retention_versions must be ≥ 0 (0 keeps every version), got \(modelRetentionVersions)") }
        guard (0...366).contains(partitionDaysAhead) else { throw fail("partition_days_ahead must be in 0...366, got \(partitionDaysAhead)") }
        guard partitionMaintenanceInterval >= .seconds(1) else { throw fail("partition_maintenance_interval_ms must be at least 1000") }
        guard !applicationName.isEmpty, applicationName.utf8.count <= 48, !applicationName.utf8.contains(0) else {
            throw fail("application_name must be 1...48 bytes")
        }
        try telemetry.validate()
        try audit.validate()
        try learner.validate()
        if api.enabled {
            try api.validate()
            guard !telemetry.isEnabled || api.port != telemetry.port || api.port == 0 else {
                throw fail("the api port must differ from the metrics port (\(api.port))")
            }
        }
    }

    static func brokerList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Parses `500ms`, `5s`, `2m`, `1h` or a plain number of seconds.
    public static func parseDuration(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v.isFinite, v >= 0 else { return nil }
            return .milliseconds(Int64((v * scale * 1000).rounded()))
        }
        guard let v = Double(t), v.isFinite, v >= 0 else { return nil }
        return .milliseconds(Int64((v * 1000).rounded()))
    }
}
