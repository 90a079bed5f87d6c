// Shared pieces of the `vigil serve` integration tests: a migrated private schema, a topic
// filled with simulated transactions (and poison messages), a seeded model set, pipeline
// runs in-process, and the rows they leave behind.
import Foundation
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

enum ServeTestSupport {
    /// A private migrated schema; drop it with `PostgresTestDatabase.drop`.
    static func migratedSchema() throws -> MigrationTarget {
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let target = try PostgresTestDatabase.newTarget()
        _ = try MigrationRunner(session: session, target: target).migrate(try PostgresTestDatabase.migrations())
        return target
    }

    static func drop(_ target: MigrationTarget) {
        guard let session = try? PostgresTestDatabase.session() else { return }
        PostgresTestDatabase.drop(target, using: session)
        session.close()
    }

    /// `count` simulated transactions (deterministic for the seed), as Kafka messages keyed by card.
    static func simulatedMessages(_ count: Int, topic: String, seed: UInt64 = 7) -> [KafkaProducerMessage] {
        var configuration = SimulatorConfiguration()
        configuration.seed = seed
        configuration.customers = 500
        configuration.terminals = 1_000
        configuration.merchants = 300
        var messages: [KafkaProducerMessage] = []
        for record in TransactionSimulator(configuration: configuration, maxTransactions: count) {
            guard case .transaction(let t) = record else { continue }
            messages.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: Array(t.json(truth: false).utf8)))
        }
        return messages
    }

    static func produce(_ messages: [KafkaProducerMessage], brokers: String) async throws {
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        for message in messages {
            while true {
                do { try producer.send(message); break } catch let error as KafkaError where error.code == .queueFull {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        }
        try await producer.flush(timeout: .seconds(60))
        try await producer.close()
    }

    /// Stores a model set trained on the first simulated events as the promoted version, so
    /// runs compared with each other score with the same models.
    static func seedModel(_ target: MigrationTarget, events: [KafkaProducerMessage]) async throws -> Int64 {
        let decoder = EventDecoder()
        let valid = events.prefix(800).compactMap { m in
            try? decoder.decode(m.value)
        }
        let set = try ColdStart.train(events: valid, spec: spec, state: state)
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        defer { Task { await connection.close() } }
        return try await ModelStore(connection: connection, schema: target.schema).promoteFirst(set).version
    }

    /// The standard spec with small hash spaces and state tables: debug builds hash, encode
    /// and snapshot the models and state often in these tests, and the sizes do not change
    /// what is being tested.
    static let spec: FeatureSpec = {
        var spec = FeatureSpec.standard
        spec.categorical = spec.categorical.map { FeatureSpec.CategoricalFeature($0.field, buckets: min($0.buckets, 256)) }
        spec.crosses = spec.crosses.map { FeatureSpec.CrossFeature($0.fields, buckets: min($0.buckets, 512)) }
        return spec
    }()
    static let state = FeatureStateConfiguration(maxCards: 10_000, maxMerchants: 5_000, maxTerminals: 5_000, recentEvents: 4_096)

    static func configuration(brokers: String, topic: String, group: String, schema: String) throws -> ServeConfiguration {
        StackEnvironment.exportDatabasePassword()
        var c = ServeConfiguration()
        c.brokers = [brokers]
        c.databaseURL = try StackEnvironment.require("VIGIL_DATABASE_URL")
        c.schema = schema
        c.topic = topic
        c.groupID = group
        c.sessionTimeout = .seconds(6)
        c.exitWhenIdle = .seconds(4)
        c.batchSize = 500
        c.snapshotEvery = 400
        c.featureSpec = spec
        c.featureState = state
        // Rounds would add model versions the other tests do not expect; ServeTrainingTests turns it on.
        c.training = false
        // A training topic of the test's own: its examples are never another test's.
        c.learner.trainingTopic = KafkaTestSupport.uniqueName("training")
        // A rule that surely fires, so alerts can be checked against the events themselves.
        c.decisionPolicy.rules = [DecisionRule(name: "large_amount", condition: .amountAbove(150, currency: nil), outcome: .review)]
        return c
    }

    /// Creates the configuration's training topic (one partition, as docs/serve.md advises):
    /// tests that turn training on call this.
    static func createTrainingTopic(_ c: ServeConfiguration, brokers: String) throws {
        try KafkaTestSupport.createTopic(c.learner.trainingTopic, partitions: 1, brokers: brokers)
    }

    /// A config file for `vigil serve` as a child process with the tests' spec and state
    /// bounds (plus `extra` keys), and the environment that finds the local stack. The
    /// folder is removed by `removeChildFolder`.
    static func childSettings(schema: String, topic: String, group: String, extra: [String: Any] = [:], brokers: String? = nil) throws
        -> (config: URL, folder: URL, environment: [String: String])
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let specFile = folder.appendingPathComponent("spec.json")
        try JSONEncoder().encode(spec).write(to: specFile)
        var config: [String: Any] = [
            "schema": schema, "topic": topic, "group": group, "session_timeout_ms": 6000, "feature_spec": specFile.path,
            "max_cards": state.maxCards, "recent_events": state.recentEvents, "training": false, "metrics_port": 0,
        ]
        config.merge(extra) { _, new in new }
        let configFile = folder.appendingPathComponent("serve.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_KAFKA_BROKERS"] = try brokers ?? KafkaTestSupport.brokers()
        environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
        if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
        return (configFile, folder, environment)
    }

    /// Starts `vigil serve` (`binary`) as a child process with `childSettings`' config and
    /// environment, its output discarded.
    static func startChild(_ binary: URL, config: URL, environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", config.path, "--log-level", "warning"]
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// One decision row: the columns that must equal between runs (not decided_at).
    struct DecisionRow: Hashable, Comparable {
        var partition: Int32
        var offset: Int64
        var eventID: String
        var decision: String
        var modelVersion: Int64
        var risk: Float
        static func < (a: Self, b: Self) -> Bool { (a.partition, a.offset) < (b.partition, b.offset) }
    }

    static func decisions(_ schema: String, topic: String) throws -> [DecisionRow] {
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let rows = try session.query("""
            SELECT kafka_partition, kafka_offset, event_id, decision, model_version, risk FROM \(quoteIdentifier(schema)).decisions
            WHERE topic = $1 ORDER BY kafka_partition, kafka_offset
            """, [.text(topic)])
        return try rows.map {
            DecisionRow(partition: try $0.decode(0), offset: try $0.decode(1), eventID: try $0.decode(2), decision: try $0.decode(3),
                        modelVersion: try $0.decode(4), risk: try $0.decode(5))
        }
    }

    static func scalar(_ sql: String, _ parameters: [PostgresValue] = []) throws -> Int64 {
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        return try session.query(sql, parameters).single().decode(0, as: Int64.self)
    }

    static func rows(_ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresRows {
        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        return try session.query(sql, parameters)
    }

    /// The error a statement fails with, as text ("" when it succeeds).
    static func fails(_ sql: String, _ parameters: [PostgresValue] = []) -> String {
        do {
            let session = try PostgresTestDatabase.session()
            defer { session.close() }
            _ = try session.query(sql, parameters)
            return ""
        } catch {
            return "\((error as? PostgresError)?.sqlState ?? "") \(String(reflecting: error))"
        }
    }
}
