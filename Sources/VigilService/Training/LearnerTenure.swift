// One instance's time as the group's learner, under one fencing token: an OnlineTrainer
// started from the live model, a consumer of the training topic resumed where the live
// version left it, and the ledger that says which examples each publication has learnt.
// Publications go through LearnerLeaseStore.publish, which refuses them once the token is
// no longer the group's: a paused former learner cannot publish after losing the role. A
// tenure learns one lineage: once a version it did not publish goes live (an operator's
// promote or rollback) it publishes nothing more, and the group starts a new tenure from
// that version's positions. Messages that hold no example it can learn become dead letters.
import Foundation
import Synchronization
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres

final class LearnerTenure: Sendable {
    let token: Int64
    let learner: OnlineTrainer
    let topic: String
    private let consumer: KafkaConsumer
    /// Where the tenure resumes the topic, per partition.
    private let resumesAt: [Int32: Int64]
    private let account: Account
    private let metrics: LearnerMetrics
    private let log: ServiceLog

    /// - Parameters:
    ///   - start: the training topic's positions to resume from (the live version's), one per partition.
    ///   - store: the lease statements on the trainer's own connection (used from its thread).
    init(token: Int64, registry: ModelRegistry, spec: FeatureSpec, configuration: ServeConfiguration, start: [Int32: Int64],
         consumer: KafkaConsumer, store: LearnerLeaseStore, metrics: LearnerMetrics, log: ServiceLog,
         checkFinished: @escaping @Sendable (PublicationCheck, _ steps: Int) -> Void) throws {
        let extractor = try FeatureExtractor(spec: spec, configuration: configuration.featureState)
        self.token = token
        self.topic = configuration.learner.trainingTopic
        self.consumer = consumer
        self.resumesAt = start
        self.metrics = metrics
        self.log = log
        let account = Account(start: start, head: registry.currentVersion)
        self.account = account
        let topic = self.topic
        var settings = configuration.trainer
        // The learner joins nothing itself: examples arrive joined, through the topic.
        settings.recentCapacity = 1
        let catalog = ModelCatalog(connection: store.connection, schema: store.schema)
        let steps = Mutex(0)
        let trainerBox = Mutex<OnlineTrainer?>(nil)
        let made = try OnlineTrainer(
            registry: registry, featureWidth: extractor.denseCount, sparseWidth: extractor.sparseCount, configuration: settings,
            log: { check in
                var fields: [String: LogValue] = ["check": .int(Int64(check.number)), "live_version": .int(check.liveVersion),
                                                  "labels_learnt": .int(Int64(check.labelsLearnt)), "learner_token": .int(token)]
                if let verdict = check.verdict { fields["guard"] = .string(verdict.summary) }
                account.lineage.withLock { l in
                    switch check.outcome {
                    case .followed(let version): l.followed(version)
                    case .promoted(let version): (l.head, l.publishing) = (version, nil)
                    case .stale: l.publishing = nil
                    default: break
                    }
                }
                // Rejections are the common case (every 1,000 labels): debug, not info.
                if check.outcome == .rejected { log.debug(check.summary, fields) } else { log.info(check.summary, fields) }
                let total = trainerBox.withLock { $0 }.map { $0.classifierSteps + $0.autoencoderSteps } ?? 0
                let new = steps.withLock { s in defer { s = total }; return max(total - s, 0) }
                checkFinished(check, new)
            },
            persist: { build in
                for _ in 0..<8 {
                    let version = try ServiceTrainer.blocking { try await store.nextVersion() }
                    let set = try build(version)
                    // Only a child of this tenure's lineage: examples learnt before the learner
                    // followed another live version are in the ledger's count, not in that version.
                    guard account.lineage.withLock({ $0.head }) == set.parent else {
                        account.lineage.withLock { $0.followed(set.parent ?? 0) }
                        throw ServiceError(.modelUnavailable, "the live version changed to \(set.parent.map(String.init) ?? "none") outside this tenure; the learner starts again from it")
                    }
                    let learnt = set.metrics.labelledExamples
                    let positions = account.ledger.withLock { $0.positions(afterLearning: learnt) }
                    switch try ServiceTrainer.blocking({ try await store.publish(set, token: token, topic: topic, positions: positions) }) {
                    case .published:
                        account.ledger.withLock { $0.published(afterLearning: learnt) }
                        // Live in the registry once `publish` swaps it in (its .promoted check ends this).
                        account.lineage.withLock { $0.publishing = set.version }
                        ServiceTrainer.applyRetention(configuration.modelRetentionVersions, catalog: catalog, log: log)
                        return set
                    case .versionTaken:
                        continue
                    case .fenced:
                        account.fenced.store(true, ordering: .releasing)
                        metrics.publicationFenced()
                        throw ServiceError(.modelUnavailable, "publication of version \(version) refused: learner token \(token) is fenced")
                    case .liveChanged(let live):
                        account.lineage.withLock { $0.followed(live ?? 0) }
                        throw ServiceError(.modelUnavailable, "the live version changed to \(live.map(String.init) ?? "none") while training on \(set.parent.map(String.init) ?? "none"); candidate dropped")
                    }
                }
                throw ServiceError(.modelUnavailable, "could not allocate a model version after 8 attempts", isRetriable: true)
            })
        trainerBox.withLock { $0 = made }
        learner = made
    }

    /// Whether a publication under this tenure's token was refused (another member took the role).
    var wasFenced: Bool { account.fenced.load(ordering: .acquiring) }

    /// The version made live outside this tenure (an operator's promote or rollback), once
    /// the learner or the registry shows it: the tenure publishes nothing more, and the group
    /// starts a new one from that version. Checked against the registry under the lineage's
    /// lock, so the tenure's own publication in flight is never taken for one.
    func versionMadeLiveOutside(_ registry: ModelRegistry) -> Int64? {
        account.lineage.withLock { l in
            let live = registry.currentVersion
            if l.publishing == nil, live != l.head { l.followed(live) }
            return l.outside
        }
    }

    func start() { learner.start() }

    /// Assigns the consumer at the tenure's start positions, after reading back up to `depth`
    /// examples of each partition before them into the learner's rehearsal memory (what the
    /// lineage's earlier learners held: the most recent examples, of both classes). Returns how
    /// many were recalled. Messages at or after the start are left to `takeExamples`.
    func resume(_ assignment: [KafkaTopicPartition: KafkaOffset], recallDepth depth: Int) async throws -> Int {
        var back: [KafkaTopicPartition: KafkaOffset] = [:]
        for (partition, end) in resumesAt where end > 0 && depth > 0 {
            back[KafkaTopicPartition(topic: topic, partition: partition)] = .at(max(0, end - Int64(depth)))
        }
        var recalled: [TrainingExample] = []
        if !back.isEmpty {
            try await consumer.assign(back)
            var pending = Set(back.keys.map(\.partition)), quiet = 0
            // Until every partition reached its start, or a second without messages (the
            // read-back range was deleted by retention).
            while !pending.isEmpty, quiet < 10 {
                let messages = try await consumer.pollAvailable(maxMessages: 5_000, timeout: .milliseconds(100))
                quiet = messages.isEmpty ? quiet + 1 : 0
                for message in messages where pending.contains(message.partition) {
                    let end = resumesAt[message.partition] ?? 0
                    if message.offset < end, let example = try? TrainingExample.decode(message.value) { recalled.append(example) }
                    if message.offset >= end - 1 { pending.remove(message.partition) }
                }
            }
        }
        try await consumer.assign(assignment)
        // A copy of a recalled example sent again later is a duplicate, as within a tenure.
        account.ledger.withLock { ledger in for e in recalled { ledger.recall(labelID: e.labelID) } }
        let count = learner.recall(recalled)
        metrics.recalled(count)
        return count
    }

    /// Takes what the training topic has for the learner (without waiting for more) and
    /// queues it. Returns how many examples were queued.
    @discardableResult
    func takeExamples() async throws -> Int {
        var queued = 0
        while true {
            let messages = try await consumer.pollAvailable(maxMessages: 5_000, timeout: .milliseconds(queued == 0 ? 20 : 0))
            guard !messages.isEmpty else { break }
            for message in messages {
                let example: TrainingExample
                do { example = try TrainingExample.decode(message.value) } catch {
                    account.ledger.withLock { $0.skip(partition: message.partition, offset: message.offset) }
                    metrics.skipped(.undecodable)
                    reject(message, code: "invalid_example", reason: "not a training example: \(error)")
                    continue
                }
                // Queued under the ledger's lock, so the trainer's count of labels learnt and
                // the ledger's order of learnt examples are the same sequence.
                let outcome: LearnerMetrics.Skip? = account.ledger.withLock { ledger in
                    if ledger.hasTaken(labelID: example.labelID) {
                        ledger.skip(partition: message.partition, offset: message.offset)
                        return .duplicate
                    }
                    do { try learner.learn(example) } catch {
                        ledger.skip(partition: message.partition, offset: message.offset)
                        reject(message, code: "example_shape_mismatch", reason: "\(error)")
                        return .shape
                    }
                    ledger.take(labelID: example.labelID, partition: message.partition, offset: message.offset)
                    return nil
                }
                if let outcome { metrics.skipped(outcome) } else { queued += 1 }
            }
        }
        metrics.examplesReceived(queued)
        return queued
    }

    /// A training-topic message the learner cannot learn, kept for `writeDeadLetters`.
    private func reject(_ message: KafkaMessage, code: String, reason: String) {
        log.warning("training topic message cannot be learnt; dead-lettered", [
            "partition": .int(Int64(message.partition)), "offset": .int(message.offset), "reason_code": .string(code), "reason": .string(reason)])
        account.rejected.withLock {
            $0.append(LearnerLeaseStore.DeadLetter(topic: topic, partition: message.partition, offset: message.offset,
                                                   code: code, reason: reason, key: message.key.map(Array.init), payload: Array(message.value)))
        }
    }

    /// Stores the dead letters of messages the learner could not learn (once each: a message
    /// read again by a later tenure conflicts on its offset). Kept for the next call when the
    /// database cannot take them.
    func writeDeadLetters(_ store: LearnerLeaseStore) async {
        let pending = account.rejected.withLock { $0 }
        guard !pending.isEmpty else { return }
        do {
            try await store.deadLetter(pending)
            account.rejected.withLock { $0.removeFirst(min(pending.count, $0.count)) }
        } catch {
            log.warning("training topic dead letters could not be stored; trying again at the next tick",
                        ["count": .int(Int64(pending.count)), "error": .string("\(error)")])
        }
    }

    /// Examples in the topic not yet taken (the learner's lag).
    func lag() async throws -> Int64 {
        try await consumer.lag().reduce(0) { $0 + $1.lag }
    }

    /// Stops the learner's thread (after its current step) and closes the consumer.
    func stop() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [learner] in
                learner.stop()
                done.resume()
            }
            thread.name = "vigil-learner-stop"
            thread.start()
        }
        try? await consumer.close()
    }

    /// The tenure's ledger, its lineage's head (the version it started from or last
    /// published), whether a publication was fenced or another version went live, and the
    /// messages to dead-letter; shared with the learner's closures (which outlive no tenure:
    /// the learner stops with it).
    private final class Account: Sendable {
        let ledger: Mutex<ExampleLedger>
        let lineage: Mutex<Lineage>
        let fenced = Atomic<Bool>(false)
        let rejected = Mutex<[LearnerLeaseStore.DeadLetter]>([])

        init(start: [Int32: Int64], head: Int64) {
            ledger = Mutex(ExampleLedger(start: start))
            lineage = Mutex(Lineage(head: head))
        }
    }

    struct Lineage {
        /// The version the tenure started from, or its last publication once live.
        var head: Int64
        /// A publication stored but not yet swapped into the registry.
        var publishing: Int64?
        /// A version made live outside the tenure.
        var outside: Int64?

        mutating func followed(_ version: Int64) {
            if outside == nil { outside = version }
        }
    }
}
