// `vigil serve`'s pipeline against the real broker and PostgreSQL: one decision per event,
// alerts for review and block, poison to dead letters, restarts equal to one clean run.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

@Suite(.serialized) struct ServeExactlyOnceTests {
    @Test func everyEventGetsExactlyOneDecisionAndTheExpectedAlerts() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-once")
        try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let messages = ServeTestSupport.simulatedMessages(200_000, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        let version = try await ServeTestSupport.seedModel(target, events: messages)

        let c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()

        let rows = try ServeTestSupport.decisions(target.schema, topic: topic)
        let s = quoteIdentifier(target.schema)
        #expect(summary.decided == messages.count)
        #expect(rows.count == messages.count)
        #expect(Set(rows.map { [Int64($0.partition), $0.offset] }).count == messages.count)
        #expect(Set(rows.map(\.eventID)) == Set(messages.map { try! eventID(of: $0) }))
        #expect(rows.allSatisfy { $0.modelVersion == version })
        // Alerts are exactly the review and block decisions, and the rule's events are among them.
        let alerts = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).alerts WHERE topic = $1", [.text(topic)])
        #expect(alerts == Int64(rows.filter { $0.decision != "allow" }.count))
        #expect(alerts == Int64(summary.alerts))
        let mismatched = try ServeTestSupport.scalar("""
            SELECT count(*) FROM \(s).decisions d FULL JOIN \(s).alerts a
              ON a.topic = d.topic AND a.kafka_partition = d.kafka_partition AND a.kafka_offset = d.kafka_offset
            WHERE (d.decision <> 'allow') IS DISTINCT FROM (a.alert_id IS NOT NULL)
            """)
        #expect(mismatched == 0)
        // Every large event is an alert: the rule's review, or the model's block (a review rule
        // does not fire on what the model already blocks).
        let large = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions WHERE amount > 150")
        let largeByRule = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).alerts WHERE amount > 150 AND reasons::text LIKE '%rule.large_amount%'")
        let largeBlockedByModel = try ServeTestSupport.scalar(
            "SELECT count(*) FROM \(s).decisions WHERE amount > 150 AND decision = 'block' AND reasons NOT LIKE '%rule.large_amount%'")
        let largeAlerted = try ServeTestSupport.scalar("SELECT count(*) FROM \(s).alerts WHERE amount > 150")
        #expect(large > 0 && largeByRule > 0)
        #expect(largeAlerted == large)
        #expect(largeByRule + largeBlockedByModel == large)
        // The stored offsets cover every message.
        let stored = try ServeTestSupport.scalar("SELECT coalesce(sum(next_offset), 0)::bigint FROM \(s).consumer_offsets WHERE topic = $1", [.text(topic)])
        #expect(stored == Int64(messages.count))
    }

    @Test func eachClassOfPoisonLandsInDeadLettersAndTheRestGoesOn() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-poison")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let valid = ServeTestSupport.simulatedMessages(600, topic: topic)
        let poison: [(String, [UInt8])] = [
            ("malformed_json", Array(#"{"event_id" "p1", "ts": 1}"#.utf8)),
            ("missing_field", Array(#"{"event_id":"p2","ts":1767225600000,"card_id":"c","merchant_id":"m","currency":"EUR"}"#.utf8)),
            ("wrong_type", Array(#"{"event_id":"p3","ts":1767225600000,"card_id":"c","merchant_id":"m","amount":"12","currency":"EUR"}"#.utf8)),
            ("non_finite_number", Array(#"{"event_id":"p4","ts":1767225600000,"card_id":"c","merchant_id":"m","amount":1e999,"currency":"EUR"}"#.utf8)),
            ("negative_amount", Array(#"{"event_id":"p5","ts":1767225600000,"card_id":"c","merchant_id":"m","amount":-3,"currency":"EUR"}"#.utf8)),
            ("invalid_timestamp", Array(#"{"event_id":"p6","ts":"yesterday","card_id":"c","merchant_id":"m","amount":3,"currency":"EUR"}"#.utf8)),
            ("invalid_utf8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]),
            ("duplicate_field", Array(#"{"event_id":"p8","ts":1767225600000,"card_id":"c","merchant_id":"m","amount":3,"amount":4,"currency":"EUR"}"#.utf8)),
            ("payload_too_large", Array(#"{"event_id":"p9","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 70_000) + Array(#""}"#.utf8)),
            ("nesting_too_deep", Array((String(repeating: #"{"a":"#, count: 40) + "1" + String(repeating: "}", count: 40)).utf8)),
        ]
        var messages = valid
        for (i, (_, bytes)) in poison.enumerated() {
            // Poison in the middle of the stream, on both partitions.
            messages.insert(KafkaProducerMessage(topic: topic, partition: Int32(i % 2), key: Array("poison-\(i)".utf8), value: bytes),
                            at: 50 + i * 40)
        }
        try await ServeTestSupport.produce(messages, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(target, events: valid)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.deadLetterPayloadLimit = 1_000
        let summary = try await FraudPipeline(configuration: c, log: .silent).run()
        #expect(summary.decided == valid.count)
        #expect(summary.deadLettered == poison.count)

        let session = try PostgresTestDatabase.session()
        defer { session.close() }
        let rows = try session.query("SELECT reason_code, octet_length(payload), message_key, reason FROM \(quoteIdentifier(target.schema)).dead_letters ORDER BY kafka_partition, kafka_offset", [])
        let codes = try rows.map { try $0.decode(0, as: String.self) }.sorted()
        let reasons = try rows.map { try $0.decode(3, as: String.self) }
        #expect(codes == poison.map(\.0).sorted(), "\(reasons)")
        #expect(try rows.allSatisfy { try $0.decode(1, as: Int.self) <= 1_000 })
        #expect(try rows.allSatisfy { try $0.decode(2, as: [UInt8].self).starts(with: Array("poison-".utf8)) })
        #expect(try rows.allSatisfy { !(try $0.decode(3, as: String.self)).isEmpty })
        #expect(try ServeTestSupport.decisions(target.schema, topic: topic).count == valid.count)
    }

    @Test func stopsMidStreamAndLostSnapshotsGiveTheRowsOfOneCleanRun() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-restart")
        try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
        let clean = try ServeTestSupport.migratedSchema()
        let restarted = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(clean); ServeTestSupport.drop(restarted) }
        let messages = ServeTestSupport.simulatedMessages(3_000, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(clean, events: messages)
        _ = try await ServeTestSupport.seedModel(restarted, events: messages)

        let cleanConfig = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("clean"), schema: clean.schema)
        _ = try await FraudPipeline(configuration: cleanConfig, log: .silent).run()

        var config = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("restart"), schema: restarted.schema)
        config.maxEvents = 1_100
        let first = try await FraudPipeline(configuration: config, log: .silent).run()
        #expect(first.decided == 1_100)
        // As after a crash between snapshots: the newest state is gone, so the next run must
        // rebuild the per-card state from older snapshots or the log without deciding again.
        let s = quoteIdentifier(restarted.schema)
        #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).entity_snapshots") > 0)
        let session = try PostgresTestDatabase.session()
        try session.execute("DELETE FROM \(s).entity_snapshots WHERE kafka_partition <> 0", [])
        session.close()
        config.maxEvents = 900
        let second = try await FraudPipeline(configuration: config, log: .silent).run()
        #expect(second.decided == 900)
        try PostgresTestDatabase.session().execute("DELETE FROM \(s).entity_snapshots", [])
        config.maxEvents = nil
        let third = try await FraudPipeline(configuration: config, log: .silent).run()
        #expect(first.decided + second.decided + third.decided == messages.count)

        let expected = try ServeTestSupport.decisions(clean.schema, topic: topic)
        let actual = try ServeTestSupport.decisions(restarted.schema, topic: topic)
        #expect(expected.count == messages.count)
        #expect(actual.count == expected.count)
        // Same events at the same coordinates with the same decisions and scores.
        for (a, e) in zip(actual, expected) {
            #expect(a.partition == e.partition && a.offset == e.offset && a.eventID == e.eventID)
            #expect(a.decision == e.decision && a.modelVersion == e.modelVersion)
            #expect(abs(a.risk - e.risk) <= 1e-5, "risk of \(a.eventID): \(a.risk) vs \(e.risk)")
        }
    }

    func eventID(of message: KafkaProducerMessage) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(message.value)) as! [String: Any]
        return object["event_id"] as! String
    }
}
