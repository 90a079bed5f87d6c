// VigilKafka's producer against the local broker: idempotence passed through,
// delivery reports, headers and keys surviving the round trip.
import Foundation
import Synchronization
import Testing
import VigilKafka

@Suite("VigilKafka producer on the local broker")
struct KafkaProducerIntegrationTests {
    @Test("an idempotent producer reports every delivery; keys and headers come back unchanged")
    func idempotentRoundTrip() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("vk-produce")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let reports = Mutex<[KafkaDeliveryReport]>([])
        var config = KafkaProducerConfiguration(bootstrapServers: [brokers])
        config.idempotent = true
        config.properties["log_level"] = "3"
        let producer = try KafkaProducer(configuration: config) { report in reports.withLock { $0.append(report) } }
        var ids: Set<UInt64> = []
        for index in 0..<1_000 {
            ids.insert(try producer.send(KafkaProducerMessage(
                topic: topic, partition: Int32(index % 2), key: Array("card-\(index)".utf8), value: KafkaTestSupport.value(index),
                headers: [KafkaHeader(name: "source", value: Array("test".utf8)), KafkaHeader(name: "seq", value: KafkaTestSupport.value(index))])))
        }
        try await producer.flush(timeout: .seconds(30))
        try await producer.close()
        let delivered = reports.withLock { $0 }
        #expect(delivered.count == 1_000)
        #expect(delivered.allSatisfy { $0.error == nil && $0.offset != nil })
        #expect(Set(delivered.map(\.id)) == ids)
        for partition: Int32 in 0...1 {
            #expect(delivered.filter { $0.partition == partition }.compactMap(\.offset).sorted() == Array(0..<500))
        }

        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(
            brokers: brokers, group: KafkaTestSupport.uniqueName("vk-g")))
        try await consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning,
                                   KafkaTopicPartition(topic: topic, partition: 1): .beginning])
        let messages = try await KafkaTestSupport.poll(consumer, count: 1_000)
        #expect(messages.count == 1_000)
        for message in messages {
            let index = KafkaTestSupport.index(of: message.value)
            #expect(message.key.map(Array.init) == Array("card-\(index)".utf8))
            #expect(message.headers == [KafkaHeader(name: "source", value: Array("test".utf8)),
                                        KafkaHeader(name: "seq", value: KafkaTestSupport.value(index))])
            #expect(message.timestampMilliseconds != nil)
        }
        try await consumer.close()
    }

    @Test("statistics report the bytes sent to the broker: lz4 sends a compressible stream in a fraction of the bytes")
    func statisticsCountWireBytes() async throws {
        let brokers = try KafkaTestSupport.brokers()
        var sent: [String: (wire: Int, messages: Int)] = [:]
        for codec in ["none", "lz4"] {
            let topic = KafkaTestSupport.uniqueName("vk-stats-\(codec)")
            try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
            var config = KafkaProducerConfiguration(bootstrapServers: [brokers])
            config.statisticsInterval = .milliseconds(50)
            config.properties["compression.codec"] = codec
            let producer = try KafkaProducer(configuration: config)
            #expect(producer.transmitted == nil || producer.transmitted!.wireBytes < 1_000)
            // 2,000 values of 200 bytes that repeat (like feature vectors of one card).
            let value = [UInt8]((0..<200).map { UInt8($0 % 16) })
            for index in 0..<2_000 {
                try producer.send(KafkaProducerMessage(topic: topic, key: Array("card-\(index % 10)".utf8), value: value))
            }
            try await producer.flush(timeout: .seconds(30))
            // The next report after the last delivery holds the final totals.
            let deadline = ContinuousClock.now + .seconds(10)
            while (producer.transmitted?.messageBytes ?? 0) < 2_000 * 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(120))
            let totals = try #require(producer.transmitted)
            sent[codec] = (totals.wireBytes, totals.messageBytes)
            try await producer.close()
        }
        let none = try #require(sent["none"]), lz4 = try #require(sent["lz4"])
        #expect(none.messages >= 2_000 * 200 && lz4.messages >= 2_000 * 200)
        #expect(none.wire >= 2_000 * 200, "uncompressed, every value byte goes over the wire")
        #expect(lz4.wire * 4 < none.wire, "lz4 sent \(lz4.wire) bytes against \(none.wire) uncompressed")
    }
}
