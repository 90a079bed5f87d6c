// VigilKafka when things go wrong: a topic that does not exist, a broker that
// stopped, a broker that restarts under a running consumer. The broker-stopping
// tests run their own Tansu process (PrivateTansu), never the shared one.
import Foundation
import Testing
import VigilKafka

@Suite("VigilKafka failures", .serialized)
struct KafkaFailureIntegrationTests {
    @Test("producing to a topic that does not exist (auto-create off) fails with an error instead of hanging")
    func missingTopic() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let producer = try KafkaTestSupport.producer(brokers: brokers, messageTimeout: .seconds(3))
        let topic = KafkaTestSupport.uniqueName("vk-missing")
        await #expect {
            try await producer.produce(KafkaProducerMessage(topic: topic, value: [1, 2, 3]))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return [.unknownTopicOrPartition, .unknownTopic, .messageTimedOut].contains(error.code)
        }
        #expect(producer.deliveryCounts.failed == 1)
        try await producer.close(timeout: .seconds(5))
    }

    @Test("producing to a stopped broker fails with a delivery error once message.timeout.ms passes")
    func stoppedBroker() async throws {
        let tansu = try PrivateTansu()
        let topic = KafkaTestSupport.uniqueName("vk-stopped")
        try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: tansu.brokers)
        let producer = try KafkaTestSupport.producer(brokers: tansu.brokers, messageTimeout: .seconds(3))
        let first = try await producer.produce(KafkaProducerMessage(topic: topic, partition: 0, value: [1]))
        #expect(first.offset == 0)
        tansu.stop()
        await #expect {
            try await producer.produce(KafkaProducerMessage(topic: topic, partition: 0, value: [2]))
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .messageTimedOut && error.isRetriable
        }
        try await producer.close(timeout: .seconds(5))
    }

    /// What this proves, and what it cannot: Tansu here keeps topics in memory only, so a
    /// killed and restarted broker comes back empty, and a consumer that then sees its topic
    /// vanish and reappear crashes inside librdkafka 2.8's metadata cache (reproduced here;
    /// confluentinc/librdkafka#4964, #5051, #5093: topic re-creation bugs). So the broker is
    /// not restarted but frozen (SIGSTOP) for several seconds: requests time out, librdkafka
    /// drops and re-opens its connections, then the broker answers again (SIGCONT) with its
    /// log intact. The consumer must not fail during the outage and must continue at its
    /// own position (offset 100), with no re-delivery and no gap.
    @Test("a consumer survives a broker outage and continues from its position")
    func brokerOutage() async throws {
        let tansu = try PrivateTansu()
        let topic = KafkaTestSupport.uniqueName("vk-outage")
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: tansu.brokers)
        try await produceWithOwnProducer(brokers: tansu.brokers, topic: topic, range: 0..<100)

        var config = KafkaTestSupport.consumerConfiguration(brokers: tansu.brokers, group: KafkaTestSupport.uniqueName("vk-g"))
        config.properties["socket.timeout.ms"] = "1500"
        config.properties["reconnect.backoff.max.ms"] = "500"
        let consumer = try KafkaConsumer(configuration: config)
        try await consumer.assign([partition: .at(0)])
        let before = try await KafkaTestSupport.poll(consumer, count: 100)
        #expect(before.map(\.offset) == Array(0..<100))

        tansu.freeze()
        // Longer than socket.timeout.ms: requests time out and connections are re-made.
        // Polls return nothing and do not throw.
        for _ in 0..<40 {
            #expect(try await consumer.poll(timeout: .milliseconds(100)).isEmpty)
        }
        tansu.thaw()
        try await produceWithOwnProducer(brokers: tansu.brokers, topic: topic, range: 100..<150)

        let after = try await KafkaTestSupport.poll(consumer, count: 50, maxIdlePolls: 300)
        #expect(after.map(\.offset) == Array(100..<150))
        #expect(after.map { KafkaTestSupport.index(of: $0.value) } == Array(100..<150))
        try await consumer.close()
        tansu.stop()
    }

    /// A producer that is gone (its librdkafka handle destroyed) when this returns, so no client but the
    /// consumer under test holds metadata across the restart.
    private func produceWithOwnProducer(brokers: String, topic: String, range: Range<Int>) async throws {
        let producer = try KafkaTestSupport.producer(brokers: brokers)
        try await KafkaTestSupport.produce(producer, topic: topic, partitions: [0], range: range)
        try await producer.close()
    }
}
