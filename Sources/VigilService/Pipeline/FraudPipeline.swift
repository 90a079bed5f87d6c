// `vigil serve` as a swift-service-lifecycle ServiceGroup: the batch loop (Kafka batches in,
// one exactly-once PostgreSQL transaction per batch out), the model follower, the online
// learner, the lag monitor, the daily partition maintenance and the HTTP endpoint (metrics,
// health). SIGTERM/SIGINT (or a StopSignal) shut them down in reverse order: the batch loop
// first finishes and commits its batch and leaves the group (revocation snapshots the state),
// then the learner stops, and the endpoint goes last.
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Synchronization
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilML
import VigilPostgres

/// What a run did.
public struct PipelineSummary: Sendable, Equatable {
    public var decided = 0
    public var deadLettered = 0
    /// Labels stored from the labels topic.
    public var labels = 0
    public var alerts = 0
    public var batches = 0
    /// Batches rolled back because an offset compare-and-set failed.
    public var fencedBatches = 0
    public var modelVersion: Int64 = 0
    /// From the first message polled to the last batch committed: the busy part of the run
    /// (without the group join and the idle wait), for throughput figures.
    public var activeSeconds: Double = 0
    /// Of which: decoding, features, scoring and deciding.
    public var decideSeconds: Double = 0
    /// Of which: the database transactions.
    public var writeSeconds: Double = 0
    /// Milliseconds from each decided event's Kafka timestamp to its batch's commit (only
    /// with `ServeConfiguration.recordLatencies`).
    public var latenciesMilliseconds: [Double] = []
    /// The same events' milliseconds from Kafka timestamp to the poll that delivered them:
    /// the broker's and client's share of `latenciesMilliseconds`.
    public var deliveryMilliseconds: [Double] = []
    /// Most cards held in the feature state of the owned partitions after any batch.
    public var peakCards = 0
    /// Offset anomalies recorded with this run's batches.
    public var offsetAnomalies = 0

    public init() {}
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// One consumer instance of the fraud pipeline. `run` owns everything it creates.
public final class FraudPipeline {
    public let configuration: ServeConfiguration
    let log: ServiceLog
    /// Metrics and health state (Telemetry/), reported per batch and loop iteration.
    public let telemetry: ServiceTelemetry
    /// Synchronous scoring's requests (nil unless `api.enabled`); `listeningPort` tells where
    /// the endpoint listens once it does.
    public let scoring: ScoringQueue?

    public init(configuration: ServeConfiguration, log: ServiceLog = ServiceLog(), telemetry: ServiceTelemetry? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.log = log
        let telemetry = telemetry ?? ServiceTelemetry(configuration: configuration.telemetry)
        self.telemetry = telemetry
        scoring = configuration.api.enabled ? ScoringQueue(configuration: configuration.api, metrics: telemetry.scoring) : nil
    }

    /// Runs the services until the batch loop stops (idle, event limit, `stop`, or one of
    /// `signals`), then shuts the rest down. Throws what stopped the batch loop, if anything.
    public func run(stop: StopSignal = StopSignal(), signals: [UnixSignal] = []) async throws -> PipelineSummary {
        let connection = PostgresConnection(configuration: try configuration.postgresConfiguration(), label: "vigil.serve.sink")
        try await connection.connect()
        telemetry.databaseConnected()
        let c = await ServingSpec.resolve(configuration, store: ModelStore(connection: connection, schema: configuration.schema), log: log)

        let slot = RuntimeSlot()
        var kafka = KafkaConsumerConfiguration(bootstrapServers: c.brokers, groupID: c.groupID)
        kafka.clientID = "vigil-serve"
        kafka.sessionTimeout = c.sessionTimeout
        kafka.maxPollInterval = max(.seconds(30), c.sessionTimeout * 3)
        // librdkafka's own lines go through the service's logger, at their levels.
        kafka.properties["log_level"] = String(log.librdkafkaLogLevel)
        kafka.logHandler = log.kafkaLogHandler
        // librdkafka's 500 ms lets a broker that holds fetches until then (Tansu does) add up
        // to half a second to every decision; an idle partition costs ~100 fetches/s instead.
        kafka.properties["fetch.wait.max.ms"] = "10"
        for (key, value) in c.kafkaProperties { kafka.properties[key] = value }
        let consumer = try KafkaConsumer(configuration: kafka, partitionHandler: OwnershipHandler(runtime: { slot.value }))

        let budget = StateBudget(budget: c.featureState)
        do {
            budget.topicPartitions(try await consumer.partitions(of: c.topic, timeout: .seconds(10)).count)
        } catch {
            log.warning("topic metadata unavailable; the entity budget is shared once partitions arrive", ["error": .string("\(error)")])
        }
        // Synchronous scoring: requests admitted by the endpoint wake the loop's poll.
        let scoring = self.scoring
        scoring?.onAdmission { [consumer] in consumer.wakeUp() }
        var lookups: PostgresConnection?
        if scoring != nil {
            let lookup = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-api"), label: "vigil.serve.api")
            try await lookup.connect()
            lookups = lookup
        }
        let writer = try AuditWriter(connection: connection, schema: c.schema, groupID: c.groupID, memberName: c.memberName, audit: c.audit)
        // Write-behind: the loop decides the next batch while this one is committed, through
        // the runtime's commit (database faults ridden out, unknown outcomes resolved).
        let handOver = AuditHandOver(write: { batch in
            guard let r = slot.value else { throw ServiceError(.invalidConfiguration, "a batch written before the pipeline was built") }
            guard try await r.commit(batch) else {
                throw ServiceError(.partitionFenced, "another member owns a partition of this batch; batch rolled back")
            }
        }, committed: { [telemetry] pending, took in
            // Durable answers leave at the commit, before the loop hears of it.
            scoring?.answerCommitted(pending.scoring)
            telemetry.batchCommitted(pending.batch, consumed: pending.messages.count, timestamps: pending.messages,
                                     total: ContinuousClock.now - pending.started, commit: took)
        })
        var runtime = PipelineRuntime(
            configuration: c, log: log, telemetry: telemetry, consumer: consumer, connection: connection,
            ownership: PartitionOwnership(), continuity: OffsetContinuity(grace: c.offsetCheckGrace),
            restorer: PartitionRestorer(connection: connection, schema: c.schema, groupID: c.groupID, spec: c.featureSpec,
                                        stateConfiguration: c.featureState, log: log,
                                        statelessTopics: Set(c.labelsTopic.map { [$0] } ?? []), budget: budget),
            writer: writer, handOver: handOver,
            models: ServingModels(), rules: ServingRules(policy: try DecisionPolicy(configuration: c.decisionPolicy), spec: c.featureSpec,
                                                         registry: telemetry.registry),
            compatibility: try ModelCompatibility(spec: c.featureSpec), rebalances: RebalanceCounter(),
            gate: ConsumerGate(), budget: budget, stop: stop)
        if let scoring, let lookups {
            runtime.scoring = scoring
            runtime.storedDecisions = StoredDecisions(connection: lookups, schema: c.schema, topics: [ScoringSource.topic(of: c.topic), c.topic])
        }
        slot.set(runtime)

        // Stored rules are in force before the first batch is decided.
        do { try await RuleFollower.initialLoad(runtime, RuleStore(connection: connection, schema: c.schema)) } catch {
            try? await consumer.close()
            await connection.close()
            throw error
        }
        let loop = BatchLoop(runtime: runtime)
        // Dependency order: the group starts these in order and shuts them down in reverse,
        // so the batch loop drains first and the endpoint answers until the end.
        let helpers: [any Service] = [MetricsEndpoint(runtime: runtime), LagMonitor(runtime: runtime), PartitionMaintenance(runtime: runtime),
                                      ModelFollower(runtime: runtime), RuleFollower(runtime: runtime), LearningService(runtime: runtime)]
        var services = helpers.map {
            // Helpers never stop the group: a metrics port in use or a failed model poll must
            // not stop fraud decisions.
            ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore)
        }
        services.append(.init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .cancelGroup))
        if let scoring {
            // Last, so it shuts down first: requests in flight are answered while the loop
            // still runs. Asked for and not able to listen (port in use), serve stops.
            services.append(.init(service: ScoringEndpoint(runtime: runtime, queue: scoring), successTerminationBehavior: .ignore,
                                  failureTerminationBehavior: .cancelGroup))
        }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals,
                                                                         logger: log.logger))
        do {
            try await group.run()
        } catch {
            await connection.close()
            await lookups?.close()
            throw error
        }
        await connection.close()
        await lookups?.close()
        return loop.summary
    }
}

/// Where the rebalance handler finds the runtime (the consumer it belongs to is part of it).
final class RuntimeSlot: Sendable {
    private let slot = Mutex<PipelineRuntime?>(nil)
    var value: PipelineRuntime? { slot.withLock { $0 } }
    func set(_ runtime: PipelineRuntime) { slot.withLock { $0 = runtime } }
}
