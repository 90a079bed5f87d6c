// Realistic decided events without Kafka: the e2e benchmark's simulated world (seed 11),
// scored by a first model trained on earlier history (seed 12) with serve's default policy,
// spread over partitions by card as a keyed producer would. The audit benchmarks write them.
import Foundation
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilService
import VigilSimulator

enum DecidedRows {
    struct Rows {
        var events: [AuditBatch.DecidedEvent]
        var featureWidth: Int
        var alerts: Int { events.reduce(0) { $0 + ($1.decision.outcome.raisesAlert ? 1 : 0) } }
    }

    static func make(count: Int, warmUpEvents: Int, partitions: Int, topic: String) throws -> Rows {
        let decoder = EventDecoder()
        func decoded(_ t: SimulatedTransaction) -> TransactionEvent? {
            let line = Array(t.json(truth: false).utf8)
            do throws(EventRejection) { return try decoder.decode(line) } catch { return nil }
        }
        var history = SimulatorConfiguration()
        history.seed = 12
        var warmUp: [TransactionEvent] = []
        for record in TransactionSimulator(configuration: history, maxTransactions: warmUpEvents) {
            if case .transaction(let t) = record, let e = decoded(t) { warmUp.append(e) }
        }
        let models = try ColdStart.train(events: warmUp, spec: .standard, state: FeatureStateConfiguration())
        var world = SimulatorConfiguration()
        world.seed = 11
        var events: [TransactionEvent] = []
        events.reserveCapacity(count)
        for record in TransactionSimulator(configuration: world, maxTransactions: count) {
            if case .transaction(let t) = record, let e = decoded(t) { events.append(e) }
        }
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: try FeatureExtractor(spec: .standard))
        let policy = try DecisionPolicy()
        var extractors = try (0..<partitions).map { _ in try FeatureExtractor(spec: .standard) }
        var nextOffset = [Int64](repeating: 0, count: partitions)
        var scored = ScoredBatch()
        var out: [AuditBatch.DecidedEvent] = []
        out.reserveCapacity(events.count)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var width = 0
        for start in stride(from: 0, to: events.count, by: 5_000) {
            let chunk = events[start..<min(start + 5_000, events.count)]
            var byPartition = [[TransactionEvent]](repeating: [], count: partitions)
            for e in chunk { byPartition[Int(StableHash.hash(e.cardID) % UInt64(partitions))].append(e) }
            for p in 0..<partitions where !byPartition[p].isEmpty {
                let group = byPartition[p]
                try scorer.score(group, extractor: &extractors[p], into: &scored)
                width = scored.featureWidth
                for i in 0..<group.count {
                    out.append(AuditBatch.DecidedEvent(
                        partition: KafkaTopicPartition(topic: topic, partition: Int32(p)), offset: nextOffset[p],
                        recordTimestampMillis: now + Int64(out.count / 100), decision: policy.decide(group[i], index: i, in: scored),
                        features: Array(scored.featureRow(i))))
                    nextOffset[p] += 1
                }
            }
        }
        return Rows(events: out, featureWidth: width)
    }
}
