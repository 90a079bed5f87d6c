// The library adapters between Vigil's streams and Kafka, on the local broker: VigilSimulator's
// KafkaSimulationSink (what `vigil gen --to kafka` writes) and VigilReplay's KafkaRangeReader
// (what `vigil replay --kafka-topic` reads).
import Foundation
import Testing
import VigilFeatures
import VigilKafka
import VigilReplay
import VigilSimulator

@Suite struct KafkaAdapterTests {
    @Test func theSimulationSinkSendsTransactionsLabelsAndPoisonKeyedByTheContract() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let tx = KafkaTestSupport.uniqueName("sink-tx"), labels = KafkaTestSupport.uniqueName("sink-labels")
        try KafkaTestSupport.createTopic(tx, partitions: 2, brokers: brokers)
        try KafkaTestSupport.createTopic(labels, partitions: 1, brokers: brokers)
        let sink = try KafkaSimulationSink(configuration: KafkaProducerConfiguration(bootstrapServers: [brokers]),
                                           transactionsTopic: tx, labelsTopic: labels, poisonRate: 0.2, seed: 3)
        var configuration = SimulatorConfiguration()
        configuration.seed = 3
        configuration.labelDelayHours = 0
        var cards: [String: String] = [:], labelled = 0
        for record in TransactionSimulator(configuration: configuration, maxTransactions: 2_000) {
            switch record {
            case .transaction(let t):
                cards[t.eventID] = t.cardID
                try await sink.write(t)
            case .label(let l):
                labelled += 1
                try await sink.write(l)
            }
        }
        try await sink.finish()
        #expect(sink.poisonTransactions > 0 && sink.poisonLabels > 0, "\(labelled) labels")

        let decoder = EventDecoder()
        let sent = try await Self.consume(tx, brokers: brokers, count: 2_000 + sink.poisonTransactions)
        #expect(sent.count == 2_000 + sink.poisonTransactions)
        var decoded = 0
        for m in sent {
            guard let event = try? decoder.decode(Array(m.value)), let card = cards[event.eventID] else { continue }
            decoded += 1
            #expect(m.key.map { Array($0) } == Array(card.utf8), "a transaction is keyed by its card")
        }
        #expect(decoded == 2_000, "every simulated transaction decodes; the poison does not")
        let labelMessages = try await Self.consume(labels, brokers: brokers, count: labelled + sink.poisonLabels)
        #expect(labelMessages.count == labelled + sink.poisonLabels)
        let keyed = labelMessages.filter { m in (try? decoder.decodeLabel(Array(m.value))).map { m.key.map(Array.init) == Array($0.eventID.utf8) } ?? false }
        #expect(keyed.count == labelled, "a label is keyed by its event")
    }

    @Test func theRangeReaderReadsAnOffsetRangeOfEveryPartitionAndNamesAMissingTopic() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("range")
        try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
        let messages = ServeTestSupport.simulatedMessages(300, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)

        var input = ReplayInput(), positions: [MessagePosition] = []
        try await KafkaRangeReader.read(KafkaTopicRange(topic: topic, fromOffset: 5, toOffset: 15), brokers: [brokers], labels: false,
                                        reader: ReplayInputReader(), into: &input, positions: &positions)
        #expect(input.events.count == 30 && positions.count == 30, "\(positions)")
        #expect(Set(positions.map(\.partition)) == [0, 1, 2])
        #expect(positions.allSatisfy { (5..<15).contains($0.offset) })

        var none = ReplayInput(), nowhere: [MessagePosition] = []
        let missing = KafkaTestSupport.uniqueName("no-such-topic")
        let error = await #expect(throws: ReplayError.self) {
            try await KafkaRangeReader.read(KafkaTopicRange(topic: missing), brokers: [brokers], labels: false,
                                            reader: ReplayInputReader(), into: &none, positions: &nowhere)
        }
        #expect(error.map { "\($0)".contains(missing) } ?? false, "\(String(describing: error))")
    }

    static func consume(_ topic: String, brokers: String, count: Int) async throws -> [KafkaMessage] {
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(brokers: brokers, group: KafkaTestSupport.uniqueName("read")))
        defer { Task { try? await consumer.close() } }
        var assignment: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in try await consumer.partitions(of: topic) { assignment[KafkaTopicPartition(topic: topic, partition: partition)] = .beginning }
        try await consumer.assign(assignment)
        return try await KafkaTestSupport.poll(consumer, count: count)
    }
}
