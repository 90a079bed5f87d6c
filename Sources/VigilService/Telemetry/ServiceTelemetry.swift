// The metrics of `vigil serve` (Prometheus registry, names documented in docs/serve.md) and
// the health state behind /healthz and /readyz. The pipeline reports once per batch or loop
// iteration, never per event, so the hot path stays free of metric bookkeeping allocations.
import Foundation
import Prometheus
import Synchronization
import VigilEngine
import VigilKafka

public final class ServiceTelemetry: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let configuration: TelemetryConfiguration
    private let health = Mutex(HealthState())
    private let lagGauges = Mutex<[KafkaTopicPartition: Gauge]>([:])

    let consumed: Counter
    let scored: Counter
    let deadLettered: Counter
    let labels: Counter
    let fenced: Counter
    let decisions: [DecisionOutcome: Counter]
    let alerts: [DecisionOutcome: Counter]
    let batchDuration: DurationHistogram
    let endToEnd: ValueHistogram
    let commitDuration: DurationHistogram
    let modelVersion: Gauge
    let modelCreated: Gauge
    let modelSwaps: Counter
    let swapDuration: DurationHistogram
    let trainingRounds: Counter
    let trainingSteps: Counter
    let adoptionFailures: Counter
    let offsetAnomalies: [OffsetAnomalyKind: Counter]
    let haltedPartitions: Gauge
    let databaseRetries: Counter
    let resolvedCommits: [CommitResolution.Outcome: Counter]
    let entities: [String: Gauge]
    let partitionsCreated: Counter
    /// Synchronous scoring (Scoring/ScoringMetrics.swift).
    let scoring: ScoringMetrics
    /// Learning across the group (LearnerMetrics.swift); exported with training off too, at 0.
    let learner: LearnerMetrics

    public init(configuration: TelemetryConfiguration = TelemetryConfiguration(), registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.configuration = configuration
        self.registry = registry
        let latency: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        consumed = registry.makeCounter(descriptor: Self.named("vigil_events_consumed_total", "Kafka messages polled (transactions and labels)."))
        scored = registry.makeCounter(descriptor: Self.named("vigil_events_scored_total", "Transactions scored, decided and committed."))
        deadLettered = registry.makeCounter(descriptor: Self.named("vigil_events_dead_lettered_total", "Messages committed as dead letters."))
        labels = registry.makeCounter(descriptor: Self.named("vigil_labels_stored_total", "Labels committed from the labels topic."))
        fenced = registry.makeCounter(descriptor: Self.named("vigil_fenced_batches_total", "Batches rolled back because another member owns a partition."))
        var decisions: [DecisionOutcome: Counter] = [:]
        var alerts: [DecisionOutcome: Counter] = [:]
        for outcome in DecisionOutcome.allCases {
            decisions[outcome] = registry.makeCounter(descriptor: Self.named("vigil_decisions_total", "Committed decisions by outcome."), labels: [("decision", outcome.rawValue)])
            if outcome.raisesAlert {
                alerts[outcome] = registry.makeCounter(descriptor: Self.named("vigil_alerts_total", "Committed alerts by decision."), labels: [("decision", outcome.rawValue)])
            }
        }
        self.decisions = decisions
        self.alerts = alerts
        batchDuration = registry.makeDurationHistogram(descriptor: Self.named("vigil_batch_duration_seconds", "One batch from decoding to its commit."),
                                                       buckets: latency)
        endToEnd = registry.makeValueHistogram(
            descriptor: Self.named("vigil_end_to_end_latency_seconds", "From an event's Kafka timestamp to its batch's commit."),
            buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
        commitDuration = registry.makeDurationHistogram(descriptor: Self.named("vigil_db_commit_duration_seconds", "One batch's PostgreSQL transaction."),
                                                        buckets: latency)
        modelVersion = registry.makeGauge(descriptor: Self.named("vigil_model_version", "Version of the live model set (0: none yet)."))
        modelCreated = registry.makeGauge(descriptor: Self.named("vigil_model_created_timestamp_seconds",
                                                                 "Unix time the live model set was trained (0: none yet); survives restarts, unlike a swap time."))
        modelSwaps = registry.makeCounter(descriptor: Self.named("vigil_model_swaps_total", "Live model changes picked up while serving."))
        swapDuration = registry.makeDurationHistogram(descriptor: Self.named("vigil_model_swap_duration_seconds", "Loading and publishing a new live model set."),
                                                      buckets: latency)
        trainingRounds = registry.makeCounter(descriptor: Self.named("vigil_training_rounds_total", "Online training rounds completed."))
        trainingSteps = registry.makeCounter(descriptor: Self.named("vigil_training_steps_total", "Online training optimiser steps."))
        adoptionFailures = registry.makeCounter(descriptor: Self.named("vigil_model_adoption_failures_total",
                                                                       "Model versions made live in the registry that this instance refused (kept scoring with the current one)."))
        var anomalies: [OffsetAnomalyKind: Counter] = [:]
        for kind in OffsetAnomalyKind.allCases {
            anomalies[kind] = registry.makeCounter(descriptor: Self.named("vigil_offset_anomalies_total", "Offset gaps and stored offsets past the log end found."),
                                                   labels: [("kind", kind.rawValue)])
        }
        offsetAnomalies = anomalies
        haltedPartitions = registry.makeGauge(descriptor: Self.named("vigil_partitions_halted", "Partitions this member stopped consuming after an offset anomaly."))
        databaseRetries = registry.makeCounter(descriptor: Self.named("vigil_db_retries_total", "Batch writes retried after a lost connection or a transient PostgreSQL error."))
        var resolved: [CommitResolution.Outcome: Counter] = [:]
        for outcome in CommitResolution.Outcome.allCases {
            resolved[outcome] = registry.makeCounter(descriptor: Self.named("vigil_db_commits_resolved_total",
                                                                            "Batches whose commit outcome was unknown (connection lost), resolved from the stored offsets."),
                                                     labels: [("outcome", outcome.rawValue)])
        }
        resolvedCommits = resolved
        var entities: [String: Gauge] = [:]
        for kind in ["card", "merchant", "terminal"] {
            entities[kind] = registry.makeGauge(descriptor: Self.named("vigil_entity_state_entities", "Entities held in the feature state of the owned partitions."),
                                                labels: [("kind", kind)])
        }
        self.entities = entities
        partitionsCreated = registry.makeCounter(descriptor: Self.named("vigil_decision_partitions_created_total", "Daily decisions partitions created by this instance's maintenance."))
        scoring = ScoringMetrics(registry: registry)
        learner = LearnerMetrics(registry: registry)
    }

    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // MARK: Reports from the pipeline

    /// A committed batch: counts by kind and the batch's timings. `timestamps` are the Kafka
    /// record timestamps (ms since the epoch) of the batch's messages.
    func batchCommitted(_ batch: AuditBatch, consumed count: Int, timestamps: [KafkaMessage], total: Duration, commit: Duration) {
        consumed.increment(by: Int64(count))
        scored.increment(by: Int64(batch.decisions.count))
        deadLettered.increment(by: Int64(batch.deadLetters.count))
        labels.increment(by: Int64(batch.labels.count))
        var allow = 0, review = 0, block = 0
        for d in batch.decisions {
            switch d.decision.outcome { case .allow: allow += 1; case .review: review += 1; case .block: block += 1 }
        }
        for (outcome, n) in [(DecisionOutcome.allow, allow), (.review, review), (.block, block)] where n > 0 {
            decisions[outcome]?.increment(by: Int64(n))
            alerts[outcome]?.increment(by: Int64(n))
        }
        batchDuration.record(total)
        commitDuration.record(commit)
        let now = Date().timeIntervalSince1970
        for message in timestamps {
            if let t = message.timestampMilliseconds { endToEnd.record(max(0, now - Double(t) / 1000)) }
        }
        health.withLock { $0.databaseReachable = true }
    }

    func batchFenced(consumed count: Int) {
        consumed.increment(by: Int64(count))
        fenced.increment()
    }

    func batchFailed() { health.withLock { $0.databaseReachable = false } }

    func databaseConnected() { health.withLock { $0.databaseReachable = true } }

    /// One loop iteration completed.
    func loopIteration(modelsLoaded: Bool, ownedPartitions: Int) {
        let now = ContinuousClock.now
        health.withLock {
            $0.lastLoopAt = now
            $0.modelsLoaded = modelsLoaded
            $0.ownedPartitions = ownedPartitions
        }
    }

    func stopping() { health.withLock { $0.stopping = true } }

    /// A live version that cannot be used was refused (`reason`), or (nil) the problem is gone.
    func modelAdoption(failed reason: String?) {
        if reason != nil { adoptionFailures.increment() }
        health.withLock { $0.modelProblem = reason }
    }

    func offsetAnomaly(_ kind: OffsetAnomalyKind) { offsetAnomalies[kind]?.increment() }

    func partitionsHalted(_ halted: [KafkaTopicPartition: String]) {
        haltedPartitions.set(Double(halted.count))
        health.withLock { $0.haltedPartitions = halted.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } }
    }

    func databaseRetry() {
        databaseRetries.increment()
        health.withLock { $0.databaseRetrying = true; $0.databaseReachable = false }
    }

    func databaseRecovered() { health.withLock { $0.databaseRetrying = false; $0.databaseReachable = true } }

    func commitResolved(_ outcome: CommitResolution.Outcome) { resolvedCommits[outcome]?.increment() }

    func entityCounts(cards: Int, merchants: Int, terminals: Int) {
        entities["card"]?.set(Double(cards))
        entities["merchant"]?.set(Double(merchants))
        entities["terminal"]?.set(Double(terminals))
    }

    func decisionPartitionsCreated(_ count: Int) { if count > 0 { partitionsCreated.increment(by: Int64(count)) } }

    /// The set now scoring: its version and when it was trained (for "no promotion for too long").
    func liveModel(_ set: ModelSet) {
        modelVersion.set(Double(set.version))
        modelCreated.set(Double(set.createdAtMillis) / 1000)
    }

    func modelSwapped(to set: ModelSet, took: Duration) {
        modelSwaps.increment()
        swapDuration.record(took)
        liveModel(set)
    }

    /// Sets the lag gauges to the consumer's current lag; partitions no longer assigned are
    /// removed from the exposition.
    func consumerLag(_ lags: [KafkaPartitionLag]) {
        lagGauges.withLock { gauges in
            var seen = Set<KafkaTopicPartition>()
            for lag in lags {
                seen.insert(lag.partition)
                let gauge = gauges[lag.partition] ?? registry.makeGauge(
                    descriptor: Self.named("vigil_consumer_lag_messages", "Messages between the consumer's position and the log end, per assigned partition."),
                    labels: [("topic", lag.partition.topic), ("partition", String(lag.partition.partition))])
                gauges[lag.partition] = gauge
                gauge.set(Double(lag.lag))
            }
            for (partition, gauge) in gauges where !seen.contains(partition) {
                registry.unregisterGauge(gauge)
                gauges[partition] = nil
            }
        }
    }

    /// Hook for the online learner: one publication check, and `steps` optimiser steps taken since the last.
    public func recordTrainingRound(steps: Int = 0) {
        trainingRounds.increment()
        if steps > 0 { trainingSteps.increment(by: Int64(steps)) }
    }

    // MARK: Answers

    public var state: HealthState { health.withLock { $0 } }

    public func liveness(now: ContinuousClock.Instant = .now) -> HealthState.Verdict {
        state.liveness(now: now, stallLimit: configuration.stallLimit)
    }

    public func readiness(now: ContinuousClock.Instant = .now) -> HealthState.Verdict {
        state.readiness(now: now, stallLimit: configuration.stallLimit)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
