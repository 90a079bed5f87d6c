// Two VigilKafka consumers in one group on the local broker, with offsets kept by
// the application (a stand-in for the PostgreSQL offsets table, committed after each
// processed batch): the partitions split, and when one member leaves the other
// continues its partitions from the application's offsets with no gap and no duplicate.
import Foundation
import Synchronization
import Testing
import VigilKafka

/// The application's side: processed messages and committed offsets, shared by both members.
final class GroupLedger: Sendable {
    let committed = Mutex<[KafkaTopicPartition: Int64]>([:])
    let processed = Mutex<[KafkaTopicPartition: [Int64]]>([:])
    let assignments = Mutex<[String: [[KafkaTopicPartition]]]>([:])
    let revocations = Mutex<[String: [[KafkaTopicPartition]]]>([:])

    func handler(member: String) -> KafkaPartitionCallbacks {
        KafkaPartitionCallbacks(
            assigned: { partitions in
                self.assignments.withLock { $0[member, default: []].append(partitions.sorted()) }
                let stored = self.committed.withLock { $0 }
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.at(stored[$0] ?? 0)) })
            },
            revoked: { partitions in
                self.revocations.withLock { $0[member, default: []].append(partitions.sorted()) }
            })
    }

    /// Processes a batch "in one transaction": records every message, then advances the offsets.
    func process(_ batch: [KafkaMessage]) {
        guard !batch.isEmpty else { return }
        processed.withLock { processed in
            for message in batch { processed[message.topicPartition, default: []].append(message.offset) }
        }
        committed.withLock { committed in
            for message in batch { committed[message.topicPartition] = message.offset + 1 }
        }
    }

    var processedCount: Int { processed.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}

@Suite("VigilKafka consumer group on the local broker")
struct KafkaGroupIntegrationTests {
    @Test("two members split the partitions; when one leaves the other takes over from the application's offsets without gap or duplicate",
          arguments: [KafkaRebalanceProtocol.eager, .cooperativeSticky])
    func takeover(rebalance: KafkaRebalanceProtocol) async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("vk-group")
        let group = KafkaTestSupport.uniqueName("vk-group")
        let all: [Int32] = [0, 1, 2, 3]
        try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: all, range: 0..<500)

        let ledger = GroupLedger()
        var config = KafkaTestSupport.consumerConfiguration(brokers: brokers, group: group)
        config.rebalanceProtocol = rebalance
        let a = try KafkaConsumer(configuration: config, partitionHandler: ledger.handler(member: "a"))
        let b = try KafkaConsumer(configuration: config, partitionHandler: ledger.handler(member: "b"))
        try a.subscribe(topics: [topic])

        // A alone: it owns all four partitions and processes part of the backlog.
        var polls = 0
        while ledger.processedCount < 400 && polls < 300 {
            ledger.process(try await a.poll(maxMessages: 50, timeout: .milliseconds(100)))
            polls += 1
        }
        #expect(try a.assignment().count == 4)

        // B joins: both poll (each must serve its side of the rebalance) until each owns two.
        try b.subscribe(topics: [topic])
        polls = 0
        while polls < 300 {
            ledger.process(try await a.poll(maxMessages: 50, timeout: .milliseconds(50)))
            ledger.process(try await b.poll(maxMessages: 50, timeout: .milliseconds(50)))
            polls += 1
            if try a.assignment().count == 2 && b.assignment().count == 2 { break }
        }
        let aOwned = Set(try a.assignment())
        let bOwned = Set(try b.assignment())
        #expect(aOwned.count == 2 && bOwned.count == 2 && aOwned.isDisjoint(with: bOwned))

        // More data while split; both make progress.
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: all, range: 500..<1000)
        polls = 0
        while ledger.processedCount < 3000 && polls < 300 {
            ledger.process(try await a.poll(maxMessages: 100, timeout: .milliseconds(50)))
            ledger.process(try await b.poll(maxMessages: 100, timeout: .milliseconds(50)))
            polls += 1
        }

        // B leaves mid-stream (its revocation handler runs inside close); A takes over. A keeps
        // polling meanwhile: the leave is a rebalance A must serve, and a member that stops
        // polling past max.poll.interval.ms (a slow close on a loaded machine) is thrown out.
        let closed = Atomic(false)
        let closing = Task {
            try await b.close()
            closed.store(true, ordering: .releasing)
        }
        polls = 0
        while !closed.load(ordering: .acquiring) && polls < 1200 {
            ledger.process(try await a.poll(maxMessages: 200, timeout: .milliseconds(50)))
            polls += 1
        }
        try await closing.value
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: all, range: 1000..<1500)
        try await producer.close()
        polls = 0
        while ledger.processedCount < 6000 && polls < 400 {
            ledger.process(try await a.poll(maxMessages: 200, timeout: .milliseconds(100)))
            polls += 1
        }
        #expect(try a.assignment().count == 4)
        try await a.close()

        let processed = ledger.processed.withLock { $0 }
        for partition in all {
            let offsets = processed[KafkaTopicPartition(topic: topic, partition: partition)] ?? []
            #expect(offsets == Array(0..<1500), "partition \(partition): \(offsets.count) processed, first gap or duplicate at \(firstIrregularity(offsets))")
        }
        let bAssignments = ledger.assignments.withLock { $0["b"] ?? [] }
        #expect(!bAssignments.isEmpty)
        #expect(ledger.revocations.withLock { $0["b"] ?? [] }.last == bAssignments.last)
        // A's last assignment handed it B's partitions (all four when eager, just B's when cooperative).
        let aLast = Set(ledger.assignments.withLock { $0["a"]?.last ?? [] })
        #expect(aLast.isSuperset(of: bAssignments.last ?? []))
        #expect(rebalance == .eager ? aLast.count == 4 : aLast.count == 2)
    }

    private func firstIrregularity(_ offsets: [Int64]) -> Int64? {
        for (index, offset) in offsets.enumerated() where offset != Int64(index) { return offset }
        return nil
    }
}
