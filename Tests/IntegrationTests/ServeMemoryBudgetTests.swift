// Memory is bounded per process: new card ids flooding in through several partitions keep the
// feature state of the whole process within one budget (each partition evicting within its
// share), and a cold start holds only the events its first model needs, then decides every
// message exactly once.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeMemoryBudgetTests {
        @Test func aFloodOfNewCardsStaysWithinTheProcessBudget() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-flood")
            try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let seed = ServeTestSupport.simulatedMessages(800, topic: topic)
            _ = try await ServeTestSupport.seedModel(target, events: seed)
            // 6,000 events, each from a card never seen before, spread over the partitions by key.
            let flood = (0..<6_000).map { i -> KafkaProducerMessage in
                let card = "flood-card-\(i)"
                let json = #"{"event_id":"flood-\#(i)","ts":\#(1_772_368_200_000 + Int64(i) * 1_000),"card_id":"\#(card)","merchant_id":"m-\#(i % 50)","amount":\#(10 + i % 90),"currency":"EUR"}"#
                return KafkaProducerMessage(topic: topic, key: Array(card.utf8), value: Array(json.utf8))
            }
            try await ServeTestSupport.produce(flood, brokers: brokers)

            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.featureState.maxCards = 1_000
            c.batchSize = 200
            let telemetry = ServiceTelemetry(configuration: c.telemetry)
            let summary = try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run()
            #expect(summary.decided == flood.count)
            // Each of the 4 partitions keeps at most 250 cards: the process never holds more than 1,000.
            #expect(summary.peakCards <= 1_000, "peak \(summary.peakCards)")
            #expect(summary.peakCards >= 800, "the budget should bind: peak \(summary.peakCards)")
        }

        @Test func aColdStartHoldsOnlyItsTrainingEventsAndDecidesEveryMessageOnce() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-cold-bounded")
            try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            var messages = ServeTestSupport.simulatedMessages(3_000, topic: topic)
            messages.insert(KafkaProducerMessage(topic: topic, value: Array(#"{"event_id":"poison"}"#.utf8)), at: 100)
            try await ServeTestSupport.produce(messages, brokers: brokers)
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.coldStartEvents = 200
            c.batchSize = 100
            let summary = try await FraudPipeline(configuration: c, log: .silent).run()
            #expect(summary.decided == 3_000)
            #expect(summary.deadLettered == 1)
            let rows = try ServeTestSupport.decisions(target.schema, topic: topic)
            #expect(rows.count == 3_000 && Set(rows.map { [Int64($0.partition), $0.offset] }).count == 3_000)
            #expect(rows.allSatisfy { $0.modelVersion == 1 })
        }
    }
}
