// What the batch loop does with one partition's messages, without a broker or a database:
// offsets already decided only rebuild the feature state, every other message is decided
// once or dead-lettered with its reason, the stored offset advances by compare-and-set from
// the one it expects, and a snapshot is queued once enough events were folded in.
import Prometheus
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
@testable import VigilService

@Suite struct BatchDeciderTests {
    static let spec = FeatureSpec(
        dense: [.init("amount", log1p: true, standardize: true, clip: -5...5), .init("card.count_1h", log1p: true),
                .init("card.transactions", log1p: true), .init("card.seconds_since_last", log1p: true)],
        categorical: [.init("country", buckets: 8)])
    static let tx = KafkaTopicPartition(topic: "tx", partition: 2)
    static let labels = KafkaTopicPartition(topic: "labels", partition: 0)

    /// Event `k` of one card, a minute apart.
    static func event(_ k: Int) -> TransactionEvent {
        TransactionEvent(eventID: "e\(k)", timestampMillis: 1_767_225_600_000 + Int64(k) * 60_000, cardID: "card-1", merchantID: "m\(k % 3)",
                         amount: Double(10 + k), currency: "EUR", country: k % 2 == 0 ? "FR" : "DE")
    }

    static func json(_ e: TransactionEvent) -> String {
        #"{"event_id":"\#(e.eventID)","ts":\#(e.timestampMillis),"card_id":"\#(e.cardID)","merchant_id":"\#(e.merchantID)","amount":\#(e.amount),"currency":"EUR","country":"\#(e.country!)"}"#
    }

    static func message(_ tp: KafkaTopicPartition, _ offset: Int64, _ text: String) -> KafkaMessage {
        KafkaMessage(topic: tp.topic, partition: tp.partition, offset: offset, key: nil, value: Array(text.utf8)[...],
                     timestampMilliseconds: 1_767_225_600_000 + offset, headers: [])
    }

    static func decider(snapshotEvery: Int = 1_000) throws -> BatchDecider {
        var x = try FeatureExtractor(spec: spec)
        var rows: [Float] = []
        for k in 0..<64 { rows += x.extract(event(k)).dense }
        let set = try ModelSet.coldStart(featureSpecHash: spec.specHash, featureWidth: spec.dense.count, sparseDimension: Int(x.sparseDimension),
                                         warmUpRows: rows, count: 64, epochs: 1, version: 1, createdAtMillis: 1_767_225_600_000)
        let scorer = try RiskScorer(registry: ModelRegistry(initial: set), extractor: try FeatureExtractor(spec: spec))
        let policy = try DecisionPolicy()
        return try BatchDecider(scorer: scorer, policy: policy, rules: ServingRules(policy: policy, spec: spec, registry: PrometheusCollectorRegistry()),
                                decoder: EventDecoder(), spec: spec, snapshotEvery: snapshotEvery, payloadLimit: 4_096,
                                retention: FeatureRetention(mode: .all))
    }

    static func lease(_ tp: KafkaTopicPartition, storedNext: Int64?) throws -> PartitionOwnership.StateMachine.Lease {
        PartitionOwnership.StateMachine.Lease(partition: tp, committedNext: storedNext, replayUntil: storedNext ?? 0, position: nil,
                                              extractor: try FeatureExtractor(spec: spec), generation: 1)
    }

    @Test func decidedOffsetsRebuildTheStateOnlyAndTheRestAreDecidedOnceOrDeadLettered() throws {
        let decider = try Self.decider()
        var lease = try Self.lease(Self.tx, storedNext: 3)
        // Offsets 0–2 were decided before a restart; 5 is poison.
        let messages = (0..<8).map { k in Self.message(Self.tx, Int64(k), k == 5 ? #"{"event_id":"e5","ts":"#  : Self.json(Self.event(k))) }
        var batch = AuditBatch()
        try decider.decide(messages[...], lease: &lease, into: &batch)

        #expect(batch.decisions.map(\.offset) == [3, 4, 6, 7])
        #expect(batch.decisions.map(\.decision.eventID) == ["e3", "e4", "e6", "e7"])
        #expect(batch.decisions.allSatisfy { $0.partition == Self.tx && $0.decision.modelVersion == 1 })
        #expect(batch.decisions.map(\.recordTimestampMillis) == [3, 4, 6, 7].map { 1_767_225_600_000 + $0 })
        #expect(batch.deadLetters.map(\.offset) == [5])
        #expect(batch.deadLetters.first?.reasonCode == EventRejection.Code.malformedJSON.rawValue)
        #expect(batch.offsets.count == 1)
        #expect(batch.offsets.first.map { ($0.partition, $0.expected, $0.next) } ?? (Self.tx, nil, 0) == (Self.tx, 3, 8))
        #expect(lease.committedNext == 8 && lease.position == 8)

        // The replayed offsets were folded into the card's state: offset 3 was scored with the
        // card's history of 0–2, as an uninterrupted run would have scored it.
        var uninterrupted = try FeatureExtractor(spec: Self.spec)
        for k in 0..<3 { _ = uninterrupted.extract(Self.event(k)) }
        #expect(batch.decisions[0].features == uninterrupted.extract(Self.event(3)).dense)
    }

    @Test func aBatchWhollyBelowTheStoredOffsetChangesNothingStored() throws {
        let decider = try Self.decider()
        var lease = try Self.lease(Self.tx, storedNext: 3)
        var batch = AuditBatch()
        try decider.decide((0..<3).map { Self.message(Self.tx, Int64($0), Self.json(Self.event($0))) }[...], lease: &lease, into: &batch)
        #expect(batch.decisions.isEmpty && batch.deadLetters.isEmpty && batch.offsets.isEmpty && batch.snapshots.isEmpty)
        #expect(lease.position == 3 && lease.committedNext == 3)
    }

    @Test func aSnapshotIsQueuedOnceEnoughEventsWereFoldedIn() throws {
        let decider = try Self.decider(snapshotEvery: 4)
        var lease = try Self.lease(Self.tx, storedNext: nil)
        var batch = AuditBatch()
        try decider.decide((0..<3).map { Self.message(Self.tx, Int64($0), Self.json(Self.event($0))) }[...], lease: &lease, into: &batch)
        #expect(batch.snapshots.isEmpty)
        #expect(batch.offsets.first.map { ($0.expected, $0.next) } ?? (0, 0) == (nil, 3))
        try decider.decide((3..<5).map { Self.message(Self.tx, Int64($0), Self.json(Self.event($0))) }[...], lease: &lease, into: &batch)
        #expect(batch.snapshots.map(\.through) == [5])
        #expect(batch.offsets.map(\.expected) == [nil, 3] && batch.offsets.map(\.next) == [3, 5])
        // The snapshot restores the state it was taken of.
        var restored = try FeatureExtractor(spec: Self.spec)
        try restored.restore(from: batch.snapshots[0].state)
        var continued = lease.extractor
        #expect(restored.extract(Self.event(5)).dense == continued.extract(Self.event(5)).dense)
    }

    @Test func labelsBelowTheStoredOffsetAreSkippedAndBadOnesDeadLettered() throws {
        let decider = try Self.decider()
        var lease = try Self.lease(Self.labels, storedNext: 1)
        let lines = [#"{"event_id":"e0","label":"fraud","ts":1}"#, #"{"event_id":"e1","label":"legit","ts":2}"#,
                     #"{"event_id":"e2","label":"maybe","ts":3}"#, #"{"event_id":"e3","label":"fraud","ts":4}"#]
        var batch = AuditBatch()
        decider.record(labels: lines.enumerated().map { Self.message(Self.labels, Int64($0.offset), $0.element) }[...], lease: &lease, into: &batch)
        #expect(batch.labels.map(\.offset) == [1, 3])
        #expect(batch.labels.map(\.label.isFraud) == [false, true])
        #expect(batch.deadLetters.map(\.offset) == [2])
        #expect(batch.offsets.first.map { ($0.expected, $0.next) } ?? (0, 0) == (1, 4))
        #expect(batch.decisions.isEmpty)
    }
}
