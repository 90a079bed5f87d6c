// Offset gaps are never silent. A stored offset past the log end (Tansu, the real local
// broker: the stored offset is moved past the end, as a re-created topic leaves it) and a
// retention gap (librdkafka's in-process mock cluster, which drops its oldest message sets
// beyond 5 MB per partition; Tansu keeps everything in memory and has no DeleteRecords) are
// logged, counted, recorded in offset_anomalies, and halt the partition or are skipped.
import Foundation
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeOffsetAnomalyTests {
        func waitUntil(_ condition: () throws -> Bool) async throws -> Bool {
            for _ in 0..<1_200 {
                if try condition() { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        @Test func aStoredOffsetPastTheLogEndIsRecordedAndHaltsOrIsSkipped() async throws {
            let brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("serve-past-end")
            try KafkaTestSupport.createTopic(topic, partitions: 1, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let s = quoteIdentifier(target.schema)
            let messages = ServeTestSupport.simulatedMessages(260, topic: topic)
            try await ServeTestSupport.produce(Array(messages[..<200]), brokers: brokers)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            let group = KafkaTestSupport.uniqueName("g")
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: group, schema: target.schema)
            c.offsetCheckGrace = .seconds(1)
            #expect(try await FraudPipeline(configuration: c, log: .silent).run().decided == 200)

            // As if the topic had been re-created: the stored offset is far past the log's end.
            func store(_ offset: Int64) throws {
                let session = try PostgresTestDatabase.session()
                defer { session.close() }
                try session.execute("UPDATE \(s).consumer_offsets SET next_offset = $1 WHERE group_id = $2", [.int64(offset), .text(group)])
            }
            try store(5_000)
            try await ServeTestSupport.produce(Array(messages[200...]), brokers: brokers)

            c.exitWhenIdle = nil
            let telemetry = ServiceTelemetry(configuration: c.telemetry)
            let stop = StopSignal()
            let haltConfig = c
            let halted = Task { try await FraudPipeline(configuration: haltConfig, log: .silent, telemetry: telemetry).run(stop: stop) }
            #expect(try await waitUntil { telemetry.readiness().body.contains("halted: \(topic)[0]: stored offset 5000 is past the log end 260") },
                    "readiness: \(telemetry.readiness().body)")
            stop.stop()
            let summary = try await halted.value
            #expect(summary.decided == 0)
            let exposition = String(decoding: telemetry.exposition(), as: UTF8.self)
            #expect(exposition.contains(#"vigil_offset_anomalies_total{kind="past_log_end"} 1"#), "\(exposition)")
            let row = try PostgresTestDatabase.session().query("""
                SELECT kind, stored_offset, log_offset, action FROM \(s).offset_anomalies WHERE group_id = $1 AND topic = $2
                """, [.text(group), .text(topic)])
            #expect(row.count == 1)
            #expect(try row.first?.decode(0, as: String.self) == "past_log_end")
            #expect(try row.first?.decode(1, as: Int64.self) == 5_000)
            #expect(try row.first?.decode(2, as: Int64.self) == 260)
            #expect(try row.first?.decode(3, as: String.self) == "halt")

            // skip: recorded, and the partition stays in consumption (nothing below the stored
            // offset is decided).
            try store(6_000)
            c.offsetAnomalyPolicy = .skip
            let skipTelemetry = ServiceTelemetry(configuration: c.telemetry)
            let skipStop = StopSignal()
            let skipConfig = c
            let skipping = Task { try await FraudPipeline(configuration: skipConfig, log: .silent, telemetry: skipTelemetry).run(stop: skipStop) }
            #expect(try await waitUntil {
                try ServeTestSupport.scalar("SELECT count(*) FROM \(s).offset_anomalies WHERE stored_offset = 6000 AND action = 'skip'") == 1
            })
            #expect(!skipTelemetry.readiness().body.contains("halted"))
            skipStop.stop()
            #expect(try await skipping.value.decided == 0)
        }

        @Test func aRetentionGapIsRecordedAndHaltsOrIsSkipped() async throws {
            let cluster = try KafkaMockCluster(brokers: 1)
            let brokers = cluster.bootstrapServers.joined(separator: ",")
            let topic = KafkaTestSupport.uniqueName("serve-gap")
            try cluster.createTopic(topic, partitions: 1)
            let halting = try ServeTestSupport.migratedSchema()
            let skipping = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(halting); ServeTestSupport.drop(skipping) }
            let messages = ServeTestSupport.simulatedMessages(130, topic: topic)
            try await ServeTestSupport.produce(Array(messages[..<100]), brokers: brokers)
            _ = try await ServeTestSupport.seedModel(halting, events: messages)
            _ = try await ServeTestSupport.seedModel(skipping, events: messages)
            var h = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("h"), schema: halting.schema)
            var k = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("k"), schema: skipping.schema)
            k.offsetAnomalyPolicy = .skip
            for c in [h, k] { #expect(try await FraudPipeline(configuration: c, log: .silent).run().decided == 100) }

            // 60 messages of 100 kB: the mock keeps about 5 MB, so the log now starts past 100.
            let big = (0..<60).map { i in KafkaProducerMessage(topic: topic, value: Array(#"{"event_id":"big-\#(i)","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 100_000) + Array(#""}"#.utf8)) }
            try await ServeTestSupport.produce(big, brokers: brokers)
            try await ServeTestSupport.produce(Array(messages[100...]), brokers: brokers)

            h.exitWhenIdle = .seconds(3)
            k.exitWhenIdle = .seconds(3)
            let halted = try await FraudPipeline(configuration: h, log: .silent).run()
            #expect(halted.decided == 0 && halted.deadLettered == 0)
            let skipped = try await FraudPipeline(configuration: k, log: .silent).run()
            #expect(skipped.decided == 30)
            #expect(skipped.deadLettered > 0 && skipped.deadLettered < 60)  // the big messages still in the log: payload_too_large

            for (target, action) in [(halting, "halt"), (skipping, "skip")] {
                let rows = try PostgresTestDatabase.session().query(
                    "SELECT kind, stored_offset, log_offset, action FROM \(quoteIdentifier(target.schema)).offset_anomalies", [])
                #expect(rows.count == 1)
                #expect(try rows.first?.decode(0, as: String.self) == "retention_gap")
                #expect(try rows.first?.decode(1, as: Int64.self) == 100)
                #expect(try (rows.first?.decode(2, as: Int64.self) ?? 0) > 100)
                #expect(try rows.first?.decode(3, as: String.self) == action)
            }
            // The halted group's stored offset did not move past the gap; the skipping one's did.
            #expect(try ServeTestSupport.scalar("SELECT next_offset FROM \(quoteIdentifier(halting.schema)).consumer_offsets") == 100)
            #expect(try ServeTestSupport.scalar("SELECT next_offset FROM \(quoteIdentifier(skipping.schema)).consumer_offsets") == 190)
        }
    }
}
