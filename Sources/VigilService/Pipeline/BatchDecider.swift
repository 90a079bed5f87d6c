// One polled batch to one AuditBatch: per partition, in offset order, decode and validate
// every message, replay already-decided offsets into the feature state only, score the rest
// with the live models, decide, and queue the offset advance and any snapshot due.
import Foundation
import VigilEngine
import VigilFeatures
import VigilKafka

/// Owns the scorer and its reusable buffers (not Sendable: one batch loop uses it).
final class BatchDecider {
    let scorer: RiskScorer
    let policy: DecisionPolicy
    /// The rule set in force, read once per partition batch (a change applies from the next one).
    let rules: ServingRules
    let decoder: EventDecoder
    let snapshotEvery: Int
    let payloadLimit: Int
    /// Which decisions keep their feature vector in the audit row.
    let retention: FeatureRetention
    /// Remembers scored vectors for online training (nil: training off).
    var trainer: OnlineTrainer?
    // Internal: BatchDecider+Scoring.swift decides API requests with the same buffers.
    var scored = ScoredBatch()
    var events: [TransactionEvent] = []
    var decisions: [Decision] = []
    private var offsets: [Int64] = []
    private var recordTimes: [Int64] = []
    private var vector: FeatureVector

    init(scorer: RiskScorer, policy: DecisionPolicy, rules: ServingRules, decoder: EventDecoder, spec: FeatureSpec, snapshotEvery: Int,
         payloadLimit: Int, retention: FeatureRetention = FeatureRetention()) throws {
        self.scorer = scorer
        self.policy = policy
        self.rules = rules
        self.decoder = decoder
        self.snapshotEvery = snapshotEvery
        self.payloadLimit = payloadLimit
        self.retention = retention
        vector = try FeatureExtractor(spec: spec).makeVector()
    }

    /// Messages grouped by partition in first-seen order, each group in offset order. A
    /// message at or below an offset already seen for its partition is dropped: after a
    /// rebalance during a cold start's accumulation, a partition can be delivered again
    /// from its stored offset, and nothing may be decided twice.
    static func byPartition(_ messages: [KafkaMessage]) -> [(KafkaTopicPartition, ArraySlice<KafkaMessage>)] {
        var order: [KafkaTopicPartition] = []
        var gathered: [KafkaTopicPartition: [KafkaMessage]] = [:]
        for message in messages {
            let tp = message.topicPartition
            if let last = gathered[tp]?.last {
                guard message.offset > last.offset else { continue }
            } else {
                order.append(tp)
            }
            gathered[tp, default: []].append(message)
        }
        return order.map { ($0, gathered[$0]![...]) }
    }

    /// Stores one labels partition's messages into `batch` (invalid ones as dead letters).
    func record(labels messages: ArraySlice<KafkaMessage>, lease: inout PartitionOwnership.StateMachine.Lease,
                into batch: inout AuditBatch) {
        guard let last = messages.last else { return }
        for message in messages where message.offset >= lease.replayUntil {
            switch decoder.decodeStreamLabel(message) {
            case .success(let label):
                batch.labels.append(AuditBatch.StreamLabel(partition: lease.partition, offset: message.offset, label: label))
            case .failure(let rejection):
                batch.deadLetters.append(AuditBatch.DeadLetter(message, rejection, payloadLimit: payloadLimit,
                                                               keyLimit: decoder.configuration.maxKeyBytes))
            }
        }
        let next = last.offset + 1
        lease.position = next
        guard next > lease.replayUntil else { return }
        batch.offsets.append(AuditBatch.OffsetAdvance(partition: lease.partition, expected: lease.committedNext, next: next))
        lease.committedNext = next
    }

    /// Decides one partition's messages into `batch`, advancing `lease`.
    func decide(_ messages: ArraySlice<KafkaMessage>, lease: inout PartitionOwnership.StateMachine.Lease,
                into batch: inout AuditBatch) throws {
        guard let last = messages.last else { return }
        events.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        recordTimes.removeAll(keepingCapacity: true)
        let partition = lease.partition
        for message in messages {
            let decoded = decoder.decodeTransaction(message)
            if message.offset < lease.replayUntil {
                // Decided before a crash or rebalance: only rebuild the state it left behind.
                if case .success(let event) = decoded { lease.extractor.extract(event, into: &vector) }
                continue
            }
            switch decoded {
            case .success(let event):
                events.append(event)
                offsets.append(message.offset)
                // A record without a broker timestamp keys on its own event time (also fixed per record).
                recordTimes.append(message.timestampMilliseconds ?? event.timestampMillis)
            case .failure(let rejection):
                batch.deadLetters.append(AuditBatch.DeadLetter(message, rejection, payloadLimit: payloadLimit,
                                                               keyLimit: decoder.configuration.maxKeyBytes))
            }
        }
        if !events.isEmpty {
            try scorer.score(events, extractor: &lease.extractor, into: &scored)
            trainer?.observe(scored, events: events[...])
            let ruleSet = rules.book.current
            var tally = RuleTally(for: ruleSet)
            decisions.removeAll(keepingCapacity: true)
            policy.decide(events[...], in: scored, rules: ruleSet, tally: &tally, into: &decisions)
            rules.record(tally, of: ruleSet)
            for (i, decision) in decisions.enumerated() {
                let keeps = retention.keeps(decision.outcome, partition: partition.partition, offset: offsets[i])
                batch.decisions.append(AuditBatch.DecidedEvent(partition: partition, offset: offsets[i], recordTimestampMillis: recordTimes[i],
                                                               decision: decision, features: keeps ? Array(scored.featureRow(i)) : []))
            }
        }
        let next = last.offset + 1
        lease.position = next
        lease.eventsSinceSnapshot += messages.count
        guard next > lease.replayUntil else { return }  // a replay-only batch changes nothing stored
        batch.offsets.append(AuditBatch.OffsetAdvance(partition: partition, expected: lease.committedNext, next: next))
        lease.committedNext = next
        if lease.eventsSinceSnapshot >= snapshotEvery {
            batch.snapshots.append(AuditBatch.StateSnapshot(partition: partition, through: next, state: lease.extractor.snapshot()))
            lease.eventsSinceSnapshot = 0
        }
    }
}
