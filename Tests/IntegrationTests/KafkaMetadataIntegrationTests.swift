// KafkaConsumer's metadata lookup against the local broker: the partition list of a topic,
// which `vigil replay --kafka-topic` reads when no partitions are named.
import Foundation
import Testing
import VigilKafka

@Suite("VigilKafka: topic metadata (local broker)")
struct KafkaMetadataIntegrationTests {
    @Test("partitions(of:) lists every partition of a topic and rejects an unknown topic")
    func partitionList() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("meta-parts")
        try KafkaTestSupport.createTopic(topic, partitions: 5, brokers: brokers)
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(brokers: brokers, group: topic))
        #expect(try await consumer.partitions(of: topic) == [0, 1, 2, 3, 4])
        await #expect(throws: KafkaError.self) { try await consumer.partitions(of: KafkaTestSupport.uniqueName("meta-missing")) }
        try await consumer.close()
    }
}
