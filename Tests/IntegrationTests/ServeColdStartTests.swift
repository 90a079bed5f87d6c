// An empty model registry: the service trains its first model set on early traffic,
// stores it as the live version, and decides every event with it.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeColdStartTests {
    @Test func anEmptyRegistryColdStartsFromTrafficAndStoresTheFirstVersion() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-cold")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(1_500, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.coldStartEvents = 300
        c.batchSize = 100
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(summary.decided == messages.count)
        #expect(summary.modelVersion == 1)

        let s = quoteIdentifier(target.schema)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).models WHERE promoted_at IS NOT NULL AND retired_at IS NULL") == 1)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE model_version = 1") == Int64(messages.count))
        #expect(try ServeTestSupport.scalar("SELECT count(DISTINCT (kafka_partition, kafka_offset)) FROM \(s).decisions") == Int64(messages.count))

        // A second run finds the stored version instead of training another.
        let again = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(again.decided == 0)
        #expect(again.modelVersion == 1)  // loaded at start, not retrained
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).models") == 1)
    }
}
