// VigilKafka's consumer against the local Tansu broker: complete, ordered
// consumption; seek; pause and resume.
import Foundation
import Testing
import VigilKafka

@Suite("VigilKafka consumer on the local broker")
struct KafkaConsumerIntegrationTests {
    @Test("100,000 messages over 4 partitions arrive completely and in order per partition (group subscription)")
    func completeAndOrdered() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("vk-order")
        try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: [0, 1, 2, 3], range: 0..<25_000)
        #expect(producer.deliveryCounts == (100_000, 0))
        try await producer.close()

        let handler = KafkaPartitionCallbacks(assigned: { partitions in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.at(0)) })
        })
        let consumer = try KafkaConsumer(
            configuration: KafkaTestSupport.consumerConfiguration(brokers: brokers, group: KafkaTestSupport.uniqueName("vk-g")),
            partitionHandler: handler)
        try consumer.subscribe(topics: [topic])
        let messages = try await KafkaTestSupport.poll(consumer, count: 100_000)
        #expect(messages.count == 100_000)
        for partition: Int32 in 0..<4 {
            let mine = messages.filter { $0.partition == partition }
            #expect(mine.map(\.offset) == Array(0..<25_000))
            #expect(mine.map { KafkaTestSupport.index(of: $0.value) } == Array(0..<25_000))
        }
        let lag = try await consumer.lag()
        #expect(lag.count == 4)
        #expect(lag.allSatisfy { $0.high == 25_000 && $0.position == 25_000 && $0.lag == 0 }, "\(lag)")
        try await consumer.close()
    }

    @Test("seek moves a partition with no stale message; a paused partition delivers nothing until resumed")
    func seekPauseResume() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("vk-seek")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: [0, 1], range: 0..<100)
        try await producer.close()
        let p0 = KafkaTopicPartition(topic: topic, partition: 0)
        let p1 = KafkaTopicPartition(topic: topic, partition: 1)

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(
            brokers: brokers, group: KafkaTestSupport.uniqueName("vk-g")))
        try await consumer.assign([p0: .beginning, p1: .beginning])
        try await consumer.pause([p1])
        // Everything of partition 0, then more polls: partition 1 stays silent while paused.
        var messages = try await KafkaTestSupport.poll(consumer, count: 100)
        messages += try await KafkaTestSupport.poll(consumer, count: 1, maxIdlePolls: 10)
        #expect(messages.map(\.offset) == Array(0..<100))
        #expect(messages.allSatisfy { $0.partition == 0 })

        try await consumer.resume([p1])
        let resumed = try await KafkaTestSupport.poll(consumer, count: 100)
        #expect(resumed.allSatisfy { $0.partition == 1 })
        #expect(resumed.map(\.offset) == Array(0..<100))

        // Backwards: the next message of partition 0 is exactly the sought one.
        try await consumer.seek(p0, to: .at(10))
        let back = try await KafkaTestSupport.poll(consumer, count: 5)
        #expect(back.map(\.offset) == [10, 11, 12, 13, 14])
        // Forwards past what was pre-fetched after the backward seek.
        try await consumer.seek(p0, to: .at(95))
        let forward = try await KafkaTestSupport.poll(consumer, count: 5)
        #expect(forward.map(\.offset) == [95, 96, 97, 98, 99])
        #expect(forward.map { KafkaTestSupport.index(of: $0.value) } == [95, 96, 97, 98, 99])
        try await consumer.close()
    }
}
