// Learning while serving, across the consumer group. Every instance keeps the vectors it
// scored (the batch loop observes them into `joiner`), polls stored labels (by id, so stream
// labels and analyst dispositions both arrive), joins each label to its vector when it holds
// it, and sends the example to the training topic. The one instance holding the group's
// learner lease (LearnerRole, LearnerTenure) learns every example from that topic, and
// publishes its guarded candidates in `models` under its fencing token; the others follow
// the live version through their version poll.
import Dispatch
import Foundation
import Synchronization
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres

public final class ServiceTrainer: Sendable {
    /// Remembers this instance's scored vectors and joins labels to them; it never learns
    /// itself (its thread is never started).
    public let joiner: OnlineTrainer
    let connection: PostgresConnection
    let schema: String
    let topic: String
    private let producer: KafkaProducer
    private let metrics: LearnerMetrics
    /// The last `labels.label_id` whose example was delivered (or had none to send).
    private let lastLabelID = Mutex<Int64?>(nil)
    private let tenure = Mutex<LearnerTenure?>(nil)
    /// Whether the first claim of the learner lease was answered (see `pollLabels`). A Mutex,
    /// not an Atomic: Swift 6.3.1's optimiser crashes on an Atomic stored property of a class
    /// whose initialiser throws (release builds, CopyPropagation).
    private let roleKnown = Mutex<Bool>(false)

    /// - Parameters:
    ///   - connection: a connection of the trainer's own (used from the learner's thread).
    init(registry: ModelRegistry, spec: FeatureSpec, configuration: ServeConfiguration, connection: PostgresConnection,
         metrics: LearnerMetrics) throws {
        let extractor = try FeatureExtractor(spec: spec, configuration: configuration.featureState)
        self.connection = connection
        schema = configuration.schema
        topic = configuration.learner.trainingTopic
        self.metrics = metrics
        joiner = try OnlineTrainer(registry: registry, featureWidth: extractor.denseCount, sparseWidth: extractor.sparseCount,
                                   configuration: configuration.trainer)
        var kafka = KafkaProducerConfiguration(bootstrapServers: configuration.brokers)
        kafka.clientID = "vigil-serve-training"
        // Examples are sent again after a failed delivery and recognised by label id, so a
        // retry must not reorder them: idempotence keeps the order per partition.
        kafka.idempotent = true
        kafka.linger = .milliseconds(20)
        // The bytes on the wire after compression (vigil_training_sent_wire_bytes_total).
        kafka.statisticsInterval = .seconds(1)
        kafka.properties["compression.codec"] = configuration.learner.compression
        for (key, value) in configuration.kafkaProperties where !key.hasPrefix("fetch.") && !key.hasPrefix("group.") {
            kafka.properties[key] = value
        }
        producer = try KafkaProducer(configuration: kafka)
    }

    /// Registry retention after a publication: prunes the weights of versions beyond the
    /// newest `keep` (0: none). A failure is logged and tried again at the next publication:
    /// the version is already live.
    static func applyRetention(_ keep: Int, catalog: ModelCatalog, log: ServiceLog) {
        guard keep > 0 else { return }
        do {
            let pruned = try blocking { try await catalog.pruneWeights(keeping: keep) }
            if pruned > 0 { log.info("pruned the weights of old model versions", ["pruned": .int(Int64(pruned)), "kept": .int(Int64(keep))]) }
        } catch {
            log.warning("pruning old model versions' weights failed; trying again at the next publication", ["error": .string("\(error)")])
        }
    }

    /// Runs `body` on the cooperative pool and waits for it; only for the learner's own thread.
    @discardableResult
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let r: Result<T, any Error>
            do { r = .success(try await body()) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    func start() async throws {
        try await connection.connect()
        // Labels stored before this run belong to events this process never scored.
        let statements = VigilSchema(schema)
        let max = try await connection.withSession { try statements.lastLabelID(on: $0) }
        lastLabelID.withLock { $0 = max }
    }

    /// Joins the labels stored since the last poll (read through `pipeline`'s connection) to
    /// the vectors this instance scored and sends the examples to the training topic; hands
    /// the learner (when this instance is it) the scored traffic sampled since. The poll
    /// position moves only once every example was delivered: after a failure the next poll
    /// sends them again, and the learner recognises the ones that did arrive by label id.
    /// Returns how many labels were new.
    @discardableResult
    func pollLabels(_ pipeline: PostgresConnection) async throws -> Int {
        // Sampled traffic waits until the first claim of the lease was answered: the instance
        // that becomes the learner at start learns from all of it, as a single instance did.
        if roleKnown.withLock({ $0 }) {
            let traffic = joiner.takeQueued()
            tenure.withLock { $0 }?.learner.learnTraffic(from: traffic)
        }
        guard let after = lastLabelID.withLock({ $0 }) else { return 0 }
        // Examples of a failed poll still in librdkafka's queue (a broker outage, a missing
        // topic) settle first: sending them again on top would only pile up copies.
        if producer.outstanding > 0 { try await producer.flush(timeout: .seconds(10)) }
        let statements = VigilSchema(schema)
        let rows = try await pipeline.withSession { try statements.labels(after: after, limit: 10_000, on: $0) }
        var last = after, sent = 0, bytes = 0, unmatched = 0
        for row in rows {
            let id = row.labelID
            last = id
            let label = LabelEvent(eventID: row.eventID, isFraud: row.isFraud, timestampMillis: row.labeledAtMillis)
            guard let example = joiner.join(label: label, labelID: id) else {
                unmatched += 1
                continue
            }
            let value = example.encoded()
            // Keyed by event id: with several partitions, one event's labels keep their order.
            try await send(KafkaProducerMessage(topic: topic, key: Array(example.eventID.utf8), value: value))
            sent += 1
            bytes += value.count
        }
        if sent > 0 {
            let failedBefore = producer.deliveryCounts.failed
            do {
                try await producer.flush(timeout: .seconds(10))
            } catch {
                metrics.sendFailed()
                throw error
            }
            guard producer.deliveryCounts.failed == failedBefore else {
                metrics.sendFailed()
                throw ServiceError(.modelUnavailable, "examples could not be delivered to \(topic); sending them again at the next poll", isRetriable: true)
            }
        }
        metrics.examplesSent(sent, bytes: bytes)
        if let transmitted = producer.transmitted { metrics.producerSent(wireBytes: transmitted.wireBytes) }
        metrics.labelsUnmatched(unmatched)
        lastLabelID.withLock { $0 = last }
        return rows.count
    }

    /// Sends one example, waiting out a full local queue.
    private func send(_ message: KafkaProducerMessage) async throws {
        try await producer.sendWhenQueued(message)
    }

    // MARK: The learner role

    /// The first claim of the lease was answered (and any tenure it granted begun).
    func roleDecided() { roleKnown.withLock { $0 = true } }

    /// The tenure running now, if this instance is the learner.
    var currentTenure: LearnerTenure? { tenure.withLock { $0 } }

    /// Makes `next` the running tenure and starts its learner.
    func begin(_ next: LearnerTenure) {
        tenure.withLock { $0 = next }
        next.start()
    }

    /// Ends the running tenure (the learner stops after its current step).
    func endTenure() async {
        guard let running = tenure.withLock({ t -> LearnerTenure? in defer { t = nil }; return t }) else { return }
        await running.stop()
    }

    func stop() async {
        await endTenure()
        try? await producer.close(timeout: .seconds(10))
        await connection.close()
    }
}
