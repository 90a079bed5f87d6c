// The labels topic: every label stored once in `labels` with its coordinates, poison
// labels dead-lettered, a second run adds nothing.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService
import VigilSimulator

@Suite struct ServeLabelsTests {
    @Test func labelsAreStoredExactlyOnceNextToTheDecisions() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-tx")
        let labelsTopic = KafkaTestSupport.uniqueName("serve-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }

        var configuration = SimulatorConfiguration()
        configuration.seed = 7
        configuration.customers = 500
        configuration.terminals = 1_000
        configuration.merchants = 300
        var transactions: [KafkaProducerMessage] = []
        var labels: [KafkaProducerMessage] = []
        var fraud = 0
        for record in TransactionSimulator(configuration: configuration, maxTransactions: 1_500) {
            switch record {
            case .transaction(let t):
                transactions.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: Array(t.json(truth: false).utf8)))
            case .label(let l):
                labels.append(KafkaProducerMessage(topic: labelsTopic, key: Array(l.eventID.utf8), value: Array(l.json().utf8)))
                if l.isFraud { fraud += 1 }
            }
        }
        let poison = KafkaProducerMessage(topic: labelsTopic, partition: 1, value: Array(#"{"event_id":"x","label":"maybe","ts":1767225600000}"#.utf8))
        try await ServeTestSupport.produce(transactions + labels + [poison], brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: transactions)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.labelsTopic = labelsTopic
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(!labels.isEmpty)
        #expect(summary.labels == labels.count)
        #expect(summary.decided == transactions.count)

        let s = quoteIdentifier(target.schema)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels WHERE source = 'stream' AND source_topic = $1", [.text(labelsTopic)]) == Int64(labels.count))
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels WHERE label = 'fraud'") == Int64(fraud))
        // Every label joins to the decision of its event.
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels l JOIN \(s).decisions d USING (event_id)") == Int64(labels.count))
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).dead_letters WHERE topic = $1 AND reason_code = 'invalid_value'", [.text(labelsTopic)]) == 1)

        let again = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(again.labels == 0 && again.decided == 0)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels") == Int64(labels.count))
    }
}
