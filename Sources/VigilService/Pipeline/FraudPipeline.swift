// The running service: Kafka batches in, one exactly-once PostgreSQL transaction per batch
// out. Lifecycle: connect, load (or cold-start) the models, subscribe, loop until stopped,
// idle or at the event limit, then leave the group (revocation snapshots the state).
import Foundation
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

    public init(configuration: ServeConfiguration, log: ServiceLog = ServiceLog(), telemetry: ServiceTelemetry? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.log = log
        self.telemetry = telemetry ?? ServiceTelemetry(configuration: configuration.telemetry)
    }

    public func run(stop: StopSignal = StopSignal()) async throws -> PipelineSummary {
        let c = configuration
        var pg = try c.databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment([:])
        pg.keywords["application_name"] = "vigil-serve"
        let connection = PostgresConnection(configuration: pg, label: "vigil.serve.sink")
        try await connection.connect()
        telemetry.databaseConnected()

        let ownership = PartitionOwnership()
        let restorer = PartitionRestorer(connection: connection, schema: c.schema, groupID: c.groupID, spec: c.featureSpec,
                                         stateConfiguration: c.featureState, log: log, statelessTopics: Set(c.labelsTopic.map { [$0] } ?? []))
        let writer = try AuditWriter(connection: connection, schema: c.schema, groupID: c.groupID, memberName: c.memberName, audit: c.audit)
        let store = ModelStore(connection: connection, schema: c.schema)
        let handOver = AuditHandOver(writer, telemetry: telemetry)
        let rebalances = RebalanceCounter()
        let handler = OwnershipHandler(ownership: ownership, restorer: restorer, writer: writer, handOver: handOver, log: log, rebalances: rebalances)

        var summary = PipelineSummary()
        let decoder = EventDecoder()
        var decider: BatchDecider?
        if let models = try await store.loadPromoted() {
            log.info("loaded the promoted model set", ["version": .int(models.version)])
            decider = try makeDecider(models, decoder: decoder)
            telemetry.liveModel(models)
        } else {
            log.info("the model registry is empty: the first model set will be trained on early traffic",
                     ["events": .int(Int64(c.coldStartEvents))])
        }
        var kafka = KafkaConsumerConfiguration(bootstrapServers: c.brokers, groupID: c.groupID)
        kafka.clientID = "vigil-serve"
        kafka.sessionTimeout = c.sessionTimeout
        kafka.maxPollInterval = max(.seconds(30), c.sessionTimeout * 3)
        kafka.properties["log_level"] = "3"
        // librdkafka's 500 ms lets a broker that holds fetches until then (Tansu does) add up
        // to half a second to every decision; an idle partition costs ~100 fetches/s instead.
        kafka.properties["fetch.wait.max.ms"] = "10"
        for (key, value) in c.kafkaProperties { kafka.properties[key] = value }
        let consumer = try KafkaConsumer(configuration: kafka, partitionHandler: handler)
        try consumer.subscribe(topics: [c.topic] + (c.labelsTopic.map { [$0] } ?? []))
        log.info("serving", ["topic": .string(c.topic), "group": .string(c.groupID), "schema": .string(c.schema),
                             "member": .string(c.memberName), "blas_kernel": .string(BLAS.coreName)])

        var pending: [KafkaMessage] = []  // held for the cold start
        var idleSince = ContinuousClock.now
        var seenRebalances = rebalances.count
        var failure: (any Error)?
        var firstMessageAt: ContinuousClock.Instant?
        var modelCheckedAt = ContinuousClock.now
        var progressAt = ContinuousClock.now
        var progressDecided = 0
        var training: ServiceTrainer?

        // Lag needs a broker round trip per partition: measured beside the batch loop, so
        // a slow answer never holds up a batch (it runs on the consumer's blocking queue).
        let lagWatch = Task { [telemetry, log] in
            while !Task.isCancelled {
                try? await Task.sleep(for: telemetry.configuration.lagInterval)
                guard !Task.isCancelled else { break }
                do { telemetry.consumerLag(try await consumer.lag(timeout: .seconds(1))) } catch {
                    log.debug("consumer lag unavailable", ["error": .string("\(error)")])
                }
            }
        }
        do {
            while !stop.isStopped {
                telemetry.loopIteration(modelsLoaded: decider != nil, ownedPartitions: ownership.owned.count)
                if training == nil, c.training, let decider { training = try await startTraining(decider) }
                if let registry = decider?.scorer.registry, ContinuousClock.now - modelCheckedAt >= c.modelPollInterval {
                    modelCheckedAt = .now
                    try await training?.pollLabels(connection)
                    let swapStarted = ContinuousClock.now
                    if let version = try await store.follow(registry) {
                        telemetry.modelSwapped(to: registry.current, took: .now - swapStarted)
                        log.info("model version changed in the registry: now scoring with it", ["version": .int(version)])
                    }
                }
                if let max = c.maxEvents, summary.decided + summary.deadLettered >= max { break }
                let limit = c.maxEvents.map { min(c.batchSize, $0 - summary.decided - summary.deadLettered) } ?? c.batchSize
                let messages = try await consumer.pollAvailable(maxMessages: Swift.max(1, limit), timeout: c.batchWait)
                if c.recordLatencies, !messages.isEmpty {
                    let polledAt = Date().timeIntervalSince1970 * 1000
                    for m in messages { if let t = m.timestampMilliseconds { summary.deliveryMilliseconds.append(polledAt - Double(t)) } }
                }
                if rebalances.count != seenRebalances { seenRebalances = rebalances.count; idleSince = .now }
                if messages.isEmpty {
                    // Until the first assignment, a slow group join is not idleness.
                    if let idle = c.exitWhenIdle,
                       ContinuousClock.now - idleSince >= (rebalances.count == 0 ? Swift.max(idle, c.groupJoinGrace) : idle) {
                        if decider == nil && !pending.isEmpty {
                            decider = try await coldStart(pending, store: store, decoder: decoder, minimum: 64)
                            try await process(pending, decider: decider!, consumer: consumer, ownership: ownership,
                                              restorer: restorer, handOver: handOver, summary: &summary)
                            pending = []
                            idleSince = .now
                            continue
                        }
                        log.info("idle: stopping", ["idle_ms": .int(Int64(idle.components.seconds * 1000))])
                        break
                    }
                    continue
                }
                idleSince = .now
                if firstMessageAt == nil { firstMessageAt = .now }
                var batch = messages
                if decider == nil {
                    pending += messages
                    guard let trained = try await coldStart(pending, store: store, decoder: decoder, minimum: c.coldStartEvents) else { continue }
                    decider = trained
                    batch = pending
                    pending = []
                }
                try await process(batch, decider: decider!, consumer: consumer, ownership: ownership, restorer: restorer,
                                  handOver: handOver, summary: &summary)
                if let firstMessageAt { summary.activeSeconds = (ContinuousClock.now - firstMessageAt).seconds }
                if ContinuousClock.now - progressAt >= c.progressInterval {
                    let rate = Double(summary.decided - progressDecided) / (ContinuousClock.now - progressAt).seconds
                    log.info("progress", ["decided": .int(Int64(summary.decided)), "dead_lettered": .int(Int64(summary.deadLettered)),
                                          "alerts": .int(Int64(summary.alerts)), "events_per_s": .int(Int64(rate.rounded())),
                                          "partitions": .int(Int64(ownership.owned.count)), "model_version": .int(decider?.scorer.registry.currentVersion ?? 0)])
                    progressAt = .now
                    progressDecided = summary.decided
                }
            }
            let lastCommit = try await settle(await handOver.drain(), consumer: consumer, ownership: ownership, restorer: restorer, summary: &summary)
            if let firstMessageAt, let lastCommit { summary.activeSeconds = (lastCommit - firstMessageAt).seconds }
        } catch {
            failure = error
            _ = await handOver.drain()
        }
        lagWatch.cancel()
        await lagWatch.value  // no lag query may race the close below
        telemetry.stopping()
        await training?.stop()
        summary.modelVersion = decider?.scorer.registry.currentVersion ?? 0
        // Leaving the group revokes the partitions, which snapshots their state.
        do { try await consumer.close() } catch { log.warning("consumer close failed", ["error": .string("\(error)")]) }
        await connection.close()
        if let failure {
            log.error("stopped on an error; nothing uncommitted was kept", ["error": .string("\(failure)")])
            throw failure
        }
        log.info("stopped", ["decided": .int(Int64(summary.decided)), "dead_lettered": .int(Int64(summary.deadLettered)),
                             "alerts": .int(Int64(summary.alerts)), "batches": .int(Int64(summary.batches)),
                             "fenced_batches": .int(Int64(summary.fencedBatches)), "model_version": .int(summary.modelVersion)])
        return summary
    }

    func makeDecider(_ models: ModelSet, decoder: EventDecoder) throws -> BatchDecider {
        let c = configuration
        let extractor = try FeatureExtractor(spec: c.featureSpec, configuration: c.featureState)
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor)
        return try BatchDecider(scorer: scorer, policy: DecisionPolicy(configuration: c.decisionPolicy), decoder: decoder,
                                spec: c.featureSpec, snapshotEvery: c.snapshotEvery, payloadLimit: c.deadLetterPayloadLimit,
                                retention: c.audit.retention)
    }

    /// Trains and stores the first model set once `pending` holds `minimum` valid events
    /// (nil before that). Another instance may win the race; its set is used then.
    func coldStart(_ pending: [KafkaMessage], store: ModelStore, decoder: EventDecoder, minimum: Int) async throws -> BatchDecider? {
        if let live = try await store.loadPromoted() {
            log.info("another instance stored the first model set", ["version": .int(live.version)])
            telemetry.liveModel(live)
            return try makeDecider(live, decoder: decoder)
        }
        let events = ColdStart.validEvents(pending, decoder: decoder)
        guard events.count >= minimum else {
            if minimum <= 64 {
                throw ServiceError(.coldStartStarved, "the stream went idle after \(events.count) valid events; a first model needs 64")
            }
            return nil
        }
        let trained = try ColdStart.train(events: events, spec: configuration.featureSpec, state: configuration.featureState)
        let live = try await store.promoteFirst(trained)
        telemetry.liveModel(live)
        log.info("cold start: first model set stored", ["version": .int(live.version), "events": .int(Int64(events.count))])
        return try makeDecider(live, decoder: decoder)
    }

    /// Decides a batch and hands it to the writer, which writes it in one transaction while
    /// the next batch is decided (AuditHandOver). A fenced batch is dropped, and its partitions
    /// restored from the database (the next rebalance will take them away).
    func process(_ messages: [KafkaMessage], decider: BatchDecider, consumer: KafkaConsumer, ownership: PartitionOwnership,
                 restorer: PartitionRestorer, handOver: AuditHandOver, summary: inout PipelineSummary) async throws {
        let groups = BatchDecider.byPartition(messages)
        var leases = ownership.checkOut(groups.map(\.0))
        var batch = AuditBatch()
        var decided: [PartitionOwnership.StateMachine.Lease] = []
        let clock = ContinuousClock()
        let started = clock.now
        do {
            for (partition, group) in groups {
                guard var lease = leases.removeValue(forKey: partition) else { continue }  // not ours any more
                if partition.topic == configuration.labelsTopic {
                    decider.record(labels: group, lease: &lease, into: &batch)
                } else {
                    try decider.decide(group, lease: &lease, into: &batch)
                }
                decided.append(lease)
            }
        } catch {
            _ = ownership.checkIn(decided + leases.values, committed: false)
            telemetry.batchFailed()
            log.warning("batch failed; rolled back", ["error": .string("\(error)")])
            throw error
        }
        // The next batch is decided from these leases while this one is written; if the write
        // is not committed, settle() takes them back.
        _ = ownership.checkIn(decided, committed: true)
        summary.count(batch)
        let finished = await handOver.submit(PendingWrite(batch: batch, messages: messages, leases: decided.map { ($0.partition, $0.generation) },
                                                          started: started, decided: clock.now))
        try await settle(finished, consumer: consumer, ownership: ownership, restorer: restorer, summary: &summary)
    }
}
