// Two `vigil serve` pipelines in one consumer group split the partitions; together they
// decide every event exactly once.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeGroupTests {
    @Test func twoInstancesSplitThePartitionsWithACompleteDuplicateFreeUnion() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-group")
        try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(4_000, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: messages)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        // Small batches keep both members busy long enough to share the topic.
        c.batchSize = 100
        c.exitWhenIdle = .seconds(6)
        var a = c, b = c
        a.memberName = "member-a"
        b.memberName = "member-b"
        async let first = FraudPipeline(configuration: a, log: .silent).run()
        async let second = FraudPipeline(configuration: b, log: .silent).run()
        let (summaryA, summaryB) = try await (first, second)

        let rows = try ServeTestSupport.decisions(target.schema, topic: topic)
        #expect(rows.count == messages.count)
        #expect(Set(rows.map { [Int64($0.partition), $0.offset] }).count == messages.count)
        #expect(summaryA.decided + summaryB.decided == messages.count)
        // Both members committed offsets: the group really split the work.
        let members = try ServeTestSupport.scalar("SELECT count(DISTINCT updated_by) FROM \(quoteIdentifier(target.schema)).consumer_offsets")
        #expect(summaryA.decided > 0 && summaryB.decided > 0, "a: \(summaryA.decided), b: \(summaryB.decided)")
        #expect(members == 2)
    }
}
