// Input PostgreSQL could not store never reaches the database: every text and time field of
// both contracts, with every class of refusal (NUL, a time out of range, an oversize or
// non-UTF-8 key, a Kafka record timestamp out of range), goes through `vigil serve` into
// dead_letters with its reason code, everything else is decided, and serve does not exit.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeUnstorableInputTests {
        /// One poison message: what it is, and the reason code its dead letter must carry.
        struct Poison {
            var topic: String
            var key: [UInt8]?
            var value: [UInt8]
            var timestamp: Int64?
            var code: String
        }

        static let eventTextFields = ["event_id", "card_id", "merchant_id", "currency", "mcc", "country", "channel", "terminal_id", "customer_id"]

        /// A valid event whose `field` holds `json` (and whose event id is `id`, unless the field is the id).
        static func event(_ id: String, _ field: String? = nil, _ json: String = "") -> [UInt8] {
            var fields: [(String, String)] = [("event_id", "\"\(id)\""), ("ts", "1772368200000"), ("card_id", #""c-1""#), ("merchant_id", #""m-1""#),
                                              ("amount", "12.5"), ("currency", #""EUR""#), ("mcc", #""5411""#), ("country", #""FR""#),
                                              ("channel", #""pos""#), ("terminal_id", #""t-1""#), ("customer_id", #""cu-1""#)]
            if let field { fields = fields.map { $0.0 == field ? ($0.0, json) : $0 } }
            return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
        }

        static func label(_ id: String, label: String = "fraud", ts: String = "1772368200000") -> [UInt8] {
            Array(#"{"event_id":"\#(id)","label":"\#(label)","ts":\#(ts)}"#.utf8)
        }

        /// Every refusal class on every field it can hit, for a transactions and a labels topic.
        static func poison(transactions: String, labels: String) -> [Poison] {
            var all: [Poison] = []
            for (i, field) in eventTextFields.enumerated() {
                // Each payload stays unique: the NUL sits in the named field, the id says which.
                let id = field == "event_id" ? "nul-\(i)\\u0000" : "nul-\(field)"
                all.append(Poison(topic: transactions, key: Array("c-1".utf8), value: event(id, field, field == "event_id" ? "\"\(id)\"" : #""x\u0000y""#),
                                  code: "nul_character"))
            }
            for (i, ts) in ["-1", "253402300800000", "9.3e18", #""1969-12-31T23:59:59Z""#, #""9999-12-31T23:59:59-01:00""#].enumerated() {
                all.append(Poison(topic: transactions, value: event("ts-\(i)", "ts", ts), code: "timestamp_out_of_range"))
                all.append(Poison(topic: labels, value: label("label-ts-\(i)", ts: ts), code: "timestamp_out_of_range"))
            }
            // The record's own timestamp keys `decisions`: out of range both ways (9.3e15 ms is
            // past Int64 microseconds, which trapped in the COPY encoder).
            for (i, millis) in [Int64(9_300_000_000_000_000), 253_402_300_800_000, -86_400_000].enumerated() {
                all.append(Poison(topic: transactions, value: event("record-ts-\(i)"), timestamp: millis, code: "timestamp_out_of_range"))
            }
            all.append(Poison(topic: labels, value: label("nul-label-id\\u0000"), code: "nul_character"))
            all.append(Poison(topic: labels, value: label("nul-label-value", label: "fraud\\u0000"), code: "nul_character"))
            for topic in [transactions, labels] {
                let value = topic == labels ? label("big-key") : event("big-key")
                all.append(Poison(topic: topic, key: [UInt8](repeating: 0x61, count: 5_000), value: value, code: "key_too_large"))
                let other = topic == labels ? label("bad-key") : event("bad-key")
                all.append(Poison(topic: topic, key: [0x63, 0xFF, 0xFE], value: other, code: "invalid_key_utf8"))
            }
            return all
        }

        @Test func everyUnstorableFieldOfBothContractsBecomesADeadLetterAndServeGoesOn() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-unstorable")
            let labelsTopic = KafkaTestSupport.uniqueName("serve-unstorable-labels")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }

            let valid = ServeTestSupport.simulatedMessages(400, topic: topic)
            let poison = Self.poison(transactions: topic, labels: labelsTopic)
            // Valid labels, one with a record timestamp far out of range: labels do not store it.
            let validLabels = (0..<20).map { KafkaProducerMessage(topic: labelsTopic, value: Self.label("ok-\($0)", label: $0 % 2 == 0 ? "fraud" : "legit")) }
                + [KafkaProducerMessage(topic: labelsTopic, value: Self.label("ok-odd-record-time"), timestampMilliseconds: 9_300_000_000_000_000)]
            var messages = valid + validLabels
            for (i, p) in poison.enumerated() {
                let message = KafkaProducerMessage(topic: p.topic, partition: Int32(i % (p.topic == topic ? 2 : 1)), key: p.key, value: p.value,
                                                   timestampMilliseconds: p.timestamp)
                messages.insert(message, at: min(messages.count, 15 * i + 7))
            }
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: valid)

            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.labelsTopic = labelsTopic
            c.batchSize = 64
            let summary = try await FraudPipeline(configuration: c, log: .silent).run()

            #expect(summary.decided == valid.count)
            #expect(summary.labels == validLabels.count)
            #expect(summary.deadLettered == poison.count)
            let session = try PostgresTestDatabase.session()
            defer { session.close() }
            let s = quoteIdentifier(target.schema)
            let rows = try session.query("SELECT topic, reason_code, payload, message_key FROM \(s).dead_letters", [])
            var stored: [String: String] = [:]
            for row in rows {
                let payload: [UInt8] = try row.decode(2)
                stored[try row.decode(0, as: String.self) + " " + String(decoding: payload, as: UTF8.self)] = try row.decode(1, as: String.self)
                let key: [UInt8]? = try row.decode(3)
                #expect((key?.count ?? 0) <= 1_024, "keys are cut to the key limit")
            }
            #expect(rows.count == poison.count)
            for p in poison {
                let name = p.topic + " " + String(decoding: p.value, as: UTF8.self)
                #expect(stored[name] == p.code, "\(name): expected \(p.code), stored \(stored[name] ?? "nothing")")
            }
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") == Int64(valid.count))
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels") == Int64(validLabels.count))
            // Every message is accounted for in the stored offsets.
            let next = try ServeTestSupport.scalar("SELECT sum(next_offset)::bigint FROM \(s).consumer_offsets")
            #expect(next == Int64(messages.count))
        }

        /// A Kafka CreateTime beyond Int64 microseconds trapped (SIGTRAP) in the COPY encoder, and
        /// the restarted process trapped again on the same batch. Run as the real binary, so a
        /// trap shows as a signal instead of ending the test process.
        @Test func aRecordTimestampBeyondInt64MicrosecondsIsADeadLetterNotACrash() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-extreme-time")
            try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            var messages = ServeTestSupport.simulatedMessages(300, topic: topic)
            for (i, millis) in [Int64.max, 9_300_000_000_000_000, Int64.min + 1].enumerated() {
                messages.insert(KafkaProducerMessage(topic: topic, value: Self.event("extreme-\(i)"), timestampMilliseconds: millis), at: 100 * i + 50)
            }
            try await ServeTestSupport.produce(messages, brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            let child = try ServeTestSupport.childSettings(schema: target.schema, topic: topic, group: KafkaTestSupport.uniqueName("g"))
            defer { try? FileManager.default.removeItem(at: child.folder) }
            let result = try ChildProcess.run(try ServeCrashTests.vigilExecutable(),
                                              ["serve", "--config", child.config.path, "--exit-when-idle", "3s", "--log-level", "warning"],
                                              environment: child.environment)
            #expect(result.status == 0, "serve: \(result.stderr.suffix(2_000))")
            let s = quoteIdentifier(target.schema)
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).dead_letters WHERE reason_code = 'timestamp_out_of_range'") == 3)
            #expect(try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") == 300)
        }
    }
}
