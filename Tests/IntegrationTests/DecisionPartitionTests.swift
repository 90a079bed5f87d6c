// Daily `decisions` partitions: serve creates them ahead at start, and a day whose partition
// comes late (its rows already in decisions_default) gets its partition with those rows moved
// into it, instead of PostgreSQL refusing the partition for good.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct DecisionPartitionTests {
        static func partitions(_ session: PostgresSession, _ schema: String) throws -> Set<String> {
            Set(try session.query("""
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = to_regclass(format('%I.decisions', $1::text))
                """, [.text(schema)]).map { try $0.decode(0, as: String.self) })
        }

        static func name(daysFromToday days: Int) -> String {
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd"
            return "decisions_" + formatter.string(from: Date().addingTimeInterval(Double(days) * 86_400))
        }

        @Test func aLateDaysRowsMoveFromTheDefaultPartitionIntoItsOwn() throws {
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let session = try PostgresTestDatabase.session()
            defer { session.close() }
            let s = quoteIdentifier(target.schema)
            // Day +20 has no partition: its rows land in decisions_default.
            let day = Date().addingTimeInterval(20 * 86_400)
            for offset in 0..<5 {
                try session.execute("""
                    INSERT INTO \(s).decisions (kafka_timestamp, topic, kafka_partition, kafka_offset, event_id, event_time, decided_at, card_id,
                        merchant_id, amount, currency, anomaly_score, classifier_score, risk, model_version, decision)
                    VALUES ($1, 't', 0, $2, 'e', $1, now(), 'c', 'm', 1, 'EUR', 0, 0, 0, 1, 'allow')
                    """, [.timestamptz(day), .int64(Int64(offset))])
            }
            #expect(try session.query("SELECT count(*) FROM \(s).decisions_default", []).single().decode(0, as: Int64.self) == 5)
            let created = try session.query("SELECT \(s).create_decision_partitions(25)", []).single().decode(0, as: Int32.self)
            #expect(created >= 18)
            #expect(try Self.partitions(session, target.schema).contains(Self.name(daysFromToday: 20)))
            #expect(try session.query("SELECT count(*) FROM \(s).decisions_default", []).single().decode(0, as: Int64.self) == 0)
            #expect(try session.query("SELECT count(*) FROM \(s).\(quoteIdentifier(Self.name(daysFromToday: 20)))", []).single().decode(0, as: Int64.self) == 5)
            #expect(try session.query("SELECT count(*) FROM \(s).decisions", []).single().decode(0, as: Int64.self) == 5)
            // The moved rows are still under the unique key.
            #expect(throws: PostgresError.self) {
                try session.execute("""
                    INSERT INTO \(s).decisions (kafka_timestamp, topic, kafka_partition, kafka_offset, event_id, event_time, decided_at, card_id,
                        merchant_id, amount, currency, anomaly_score, classifier_score, risk, model_version, decision)
                    VALUES ($1, 't', 0, 0, 'e', $1, now(), 'c', 'm', 1, 'EUR', 0, 0, 0, 1, 'allow')
                    """, [.timestamptz(day)])
            }
            // Retention is the owner's call and still works on the moved day.
            #expect(try session.query("SELECT \(s).drop_decision_partitions(1)", []).single().decode(0, as: Int32.self) >= 0)
        }

        @Test func serveCreatesPartitionsAheadAtStart() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-partitions")
            try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(100, topic: topic)
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            let session = try PostgresTestDatabase.session()
            defer { session.close() }
            #expect(try !Self.partitions(session, target.schema).contains(Self.name(daysFromToday: 12)))
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.partitionDaysAhead = 12
            #expect(try await FraudPipeline(configuration: c, log: .silent).run().decided == 100)
            let made = try Self.partitions(session, target.schema)
            for days in -1...12 { #expect(made.contains(Self.name(daysFromToday: days)), "day \(days)") }
        }
    }
}
