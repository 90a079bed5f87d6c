// The consumer and producer against librdkafka's in-process mock cluster.
import Foundation
import Synchronization
import Testing
import VigilKafka

@Suite("VigilKafka on the mock cluster")
struct MockClusterTests {
    let cluster: KafkaMockCluster
    init() throws { cluster = try KafkaMockCluster(brokers: 1) }

    func producer() throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers)
        config.messageTimeout = .seconds(10)
        return try KafkaProducer(configuration: config)
    }

    func consumerConfig(group: String = "g-\(UUID().uuidString)") -> KafkaConsumerConfiguration {
        var config = KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group)
        config.sessionTimeout = .seconds(6)
        config.maxPollInterval = .seconds(10)
        return config
    }

    func produce(_ producer: KafkaProducer, topic: String, partitions: Int32, perPartition: Int) async throws {
        for index in 0..<perPartition {
            for partition in 0..<partitions {
                try producer.send(KafkaProducerMessageFactory.make(topic: topic, partition: partition, index: index))
            }
        }
        try await producer.flush(timeout: .seconds(10))
        #expect(producer.deliveryCounts.failed == 0)
    }

    @Test("messages round-trip with key, value, headers and timestamps, in order per partition")
    func roundTrip() async throws {
        try cluster.createTopic("t", partitions: 2)
        let producer = try producer()
        let report = try await producer.produce(KafkaProducerMessage(
            topic: "t", partition: 1, key: Array("card-1".utf8), value: [1, 2, 3],
            headers: [KafkaHeader(name: "h", value: Array("v".utf8)), KafkaHeader(name: "empty", value: nil)],
            timestampMilliseconds: 1_700_000_000_000))
        #expect(report.partition == 1 && report.offset == 0 && report.error == nil)
        try await produce(producer, topic: "t", partitions: 2, perPartition: 50)
        try await producer.close()

        let consumer = try KafkaConsumer(configuration: consumerConfig())
        try await consumer.assign([KafkaTopicPartition(topic: "t", partition: 0): .beginning,
                                   KafkaTopicPartition(topic: "t", partition: 1): .beginning])
        let messages = try await pollUntil(consumer, count: 101)
        #expect(messages.count == 101)
        let first = try #require(messages.first { $0.partition == 1 && $0.offset == 0 })
        #expect(first.key.map(Array.init) == Array("card-1".utf8))
        #expect(Array(first.value) == [1, 2, 3])
        #expect(first.headers == [KafkaHeader(name: "h", value: Array("v".utf8)), KafkaHeader(name: "empty", value: nil)])
        #expect(first.timestampMilliseconds == 1_700_000_000_000)
        for partition: Int32 in 0...1 {
            let offsets = messages.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)))
        }
        try await consumer.close()
    }

    @Test("a group assignment starts each partition where the application says", arguments: [KafkaRebalanceProtocol.eager, .cooperativeSticky])
    func groupStartOffsets(rebalance: KafkaRebalanceProtocol) async throws {
        try cluster.createTopic("g", partitions: 2)
        let producer = try producer()
        try await produce(producer, topic: "g", partitions: 2, perPartition: 20)
        try await producer.close()

        let assignedSeen = Mutex<[KafkaTopicPartition]>([])
        let revokedSeen = Mutex<[KafkaTopicPartition]>([])
        // What the revocation handler saw: still owning its partitions, and re-entrant calls refused.
        let ownedDuringRevoke = Mutex<[KafkaTopicPartition]>([])
        let reentrantRefused = Mutex(false)
        let box = Mutex<KafkaConsumer?>(nil)
        let handler = KafkaPartitionCallbacks(
            assigned: { partitions in
                assignedSeen.withLock { $0 += partitions }
                return Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.at($0.partition == 0 ? 7 : 15)) })
            },
            revoked: { partitions in
                revokedSeen.withLock { $0 += partitions }
                guard let consumer = box.withLock({ $0 }) else { return }
                ownedDuringRevoke.withLock { $0 = (try? consumer.assignment()) ?? [] }
                do {
                    _ = try await consumer.poll(timeout: .milliseconds(1))
                } catch let error as KafkaError where error.code == .invalidState {
                    reentrantRefused.withLock { $0 = true }
                } catch {}
            })
        var config = consumerConfig()
        config.rebalanceProtocol = rebalance
        let consumer = try KafkaConsumer(configuration: config, partitionHandler: handler)
        box.withLock { $0 = consumer }
        try consumer.subscribe(topics: ["g"])
        let messages = try await pollUntil(consumer, count: 13 + 5)
        #expect(assignedSeen.withLock { $0.sorted() } == [KafkaTopicPartition(topic: "g", partition: 0), KafkaTopicPartition(topic: "g", partition: 1)])
        #expect(messages.filter { $0.partition == 0 }.map(\.offset) == Array(7..<20))
        #expect(messages.filter { $0.partition == 1 }.map(\.offset) == Array(15..<20))
        try await consumer.close()
        box.withLock { $0 = nil }
        #expect(revokedSeen.withLock { $0.sorted() } == assignedSeen.withLock { $0.sorted() })
        // The partitions went only after the handler returned, and it could not deadlock the consumer.
        #expect(ownedDuringRevoke.withLock { $0 } == assignedSeen.withLock { $0.sorted() })
        #expect(reentrantRefused.withLock { $0 })
    }

    @Test("a member that stops polling past max.poll.interval.ms is told its partitions were lost, not revoked")
    func lostAssignment() async throws {
        try cluster.createTopic("l", partitions: 1)
        let lostSeen = Mutex<[KafkaTopicPartition]>([])
        let revokedSeen = Mutex<[KafkaTopicPartition]>([])
        let handler = KafkaPartitionCallbacks(
            assigned: { partitions in Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) }) },
            revoked: { partitions in revokedSeen.withLock { $0 += partitions } },
            lost: { partitions in lostSeen.withLock { $0 += partitions } })
        var config = consumerConfig()
        config.maxPollInterval = .seconds(6)
        let consumer = try KafkaConsumer(configuration: config, partitionHandler: handler)
        try consumer.subscribe(topics: ["l"])
        var polls = 0
        while try consumer.assignment().isEmpty && polls < 200 {
            _ = try await consumer.poll(timeout: .milliseconds(100))
            polls += 1
        }
        #expect(try consumer.assignment() == [KafkaTopicPartition(topic: "l", partition: 0)])
        try await Task.sleep(for: .seconds(7.5))  // no poll: the member is dropped from the group
        polls = 0
        while lostSeen.withLock({ $0.isEmpty }) && polls < 50 {
            _ = try? await consumer.poll(timeout: .milliseconds(100))
            polls += 1
        }
        #expect(lostSeen.withLock { $0 } == [KafkaTopicPartition(topic: "l", partition: 0)])
        #expect(revokedSeen.withLock { $0 }.isEmpty)
        try await consumer.close()
    }

    @Test("seek delivers from the new offset with nothing stale in between")
    func seek() async throws {
        try cluster.createTopic("s", partitions: 1)
        let producer = try producer()
        try await produce(producer, topic: "s", partitions: 1, perPartition: 100)
        try await producer.close()
        let partition = KafkaTopicPartition(topic: "s", partition: 0)
        let consumer = try KafkaConsumer(configuration: consumerConfig())
        try await consumer.assign([partition: .at(50)])
        let firstBatch = try await pollUntil(consumer, count: 10, maxMessages: 10)
        #expect(firstBatch.first?.offset == 50)
        try await consumer.seek(partition, to: .at(5))
        let afterBackward = try await pollUntil(consumer, count: 1, maxMessages: 1)
        #expect(afterBackward.first?.offset == 5)
        try await consumer.seek(partition, to: .at(90))
        let afterForward = try await pollUntil(consumer, count: 10)
        #expect(afterForward.map(\.offset) == Array(90..<100))
        try await consumer.close()
    }

    @Test("offsets committed to Kafka read back, and a partition assigned at .stored starts there")
    func kafkaCommit() async throws {
        try cluster.createTopic("c", partitions: 1)
        let producer = try producer()
        try await produce(producer, topic: "c", partitions: 1, perPartition: 60)
        try await producer.close()
        let partition = KafkaTopicPartition(topic: "c", partition: 0)
        let group = "g-\(UUID().uuidString)"
        let first = try KafkaConsumer(configuration: consumerConfig(group: group))
        try await first.assign([partition: .beginning])
        #expect(try await first.committed([partition]).isEmpty)
        try await first.commit([partition: 42])
        #expect(try await first.committed([partition]) == [partition: 42])
        try await first.close()

        let second = try KafkaConsumer(configuration: consumerConfig(group: group))
        try await second.assign([partition: .stored])
        let messages = try await pollUntil(second, count: 18)
        #expect(messages.map(\.offset) == Array(42..<60))
        try await second.close()
    }

    @Test("pollAvailable hands over what is fetched without waiting for the batch to fill, and all of it in order")
    func pollAvailableDoesNotWaitToFill() async throws {
        try cluster.createTopic("avail", partitions: 1)
        let producer = try producer()
        try await produce(producer, topic: "avail", partitions: 1, perPartition: 40)
        let consumer = try KafkaConsumer(configuration: consumerConfig())
        try await consumer.assign([KafkaTopicPartition(topic: "avail", partition: 0): .beginning])
        // poll() would hold this call for the whole minute waiting for 10,000 messages.
        let clock = ContinuousClock()
        var messages: [KafkaMessage] = []
        let started = clock.now
        while messages.count < 40 && clock.now - started < .seconds(60) {
            messages += try await consumer.pollAvailable(maxMessages: 10_000, timeout: .seconds(60))
        }
        #expect(clock.now - started < .seconds(60), "pollAvailable waited for the batch to fill")
        #expect(messages.map(\.offset) == Array(0..<40))
        // Nothing more: the wait for a first message ends at the timeout with nothing.
        #expect(try await consumer.pollAvailable(maxMessages: 10, timeout: .milliseconds(200)).isEmpty)
        await #expect(throws: KafkaError.self) { try await consumer.pollAvailable(maxMessages: 0) }
        try await consumer.close()
        try await producer.close()
    }

    @Test("bad arguments are errors, not crashes")
    func badInput() async throws {
        let consumer = try KafkaConsumer(configuration: consumerConfig())
        await #expect(throws: KafkaError.self) { try await consumer.poll(maxMessages: 0) }
        await #expect(throws: KafkaError.self) { try await consumer.assign([KafkaTopicPartition(topic: "x", partition: 0): .at(-5)]) }
        #expect(throws: KafkaError.self) { try consumer.subscribe(topics: []) }
        await #expect(throws: KafkaError.self) { try await consumer.commit([KafkaTopicPartition(topic: "x", partition: 0): -1]) }
        try await consumer.close()
        await #expect(throws: KafkaError.self) { try await consumer.poll() }
        let producer = try producer()
        #expect(throws: KafkaError.self) { try producer.send(KafkaProducerMessage(topic: "", value: [1])) }
        try await producer.close()
        #expect(throws: KafkaError.self) { try producer.send(KafkaProducerMessage(topic: "t", value: [1])) }
    }
}

enum KafkaProducerMessageFactory {
    static func make(topic: String, partition: Int32, index: Int) throws -> KafkaProducerMessage {
        KafkaProducerMessage(topic: topic, partition: partition, key: Array("k\(index)".utf8), value: Array("v\(index)".utf8))
    }
}

/// Polls until `count` messages arrived or 300 polls passed (a bound on attempts, not on time).
func pollUntil(_ consumer: KafkaConsumer, count: Int, maxMessages: Int = 1000) async throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    var polls = 0
    while messages.count < count && polls < 300 {
        messages += try await consumer.poll(maxMessages: min(maxMessages, count - messages.count), timeout: .milliseconds(100))
        polls += 1
    }
    return messages
}
