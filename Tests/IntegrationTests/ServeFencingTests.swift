// The audit writer's fencing: a batch whose offset compare-and-set fails leaves nothing
// behind, and the unique Kafka coordinates refuse a duplicate even past the fence.
import Foundation
import Testing
import VigilEngine
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeFencingTests {
    let partition = KafkaTopicPartition(topic: "fence-topic", partition: 3)

    func batch(offsets: Range<Int64>, expected: Int64?) -> AuditBatch {
        var batch = AuditBatch()
        for offset in offsets {
            let decision = Decision(eventID: "e\(offset)", cardID: "c1", merchantID: "m1", amount: 10, currency: "EUR",
                                    eventTimeMillis: 1_767_225_600_000, risk: offset % 2 == 0 ? 0.1 : 0.95, anomalyScore: 1,
                                    fraudProbability: 0, modelVersion: 1, outcome: offset % 2 == 0 ? .allow : .block, reasons: ReasonList())
            batch.decisions.append(AuditBatch.DecidedEvent(partition: partition, offset: offset, recordTimestampMillis: 1_767_225_600_000, decision: decision, features: [1, 2]))
        }
        batch.deadLetters.append(AuditBatch.DeadLetter(partition: partition, offset: offsets.upperBound, key: nil, payload: [1],
                                                       reasonCode: "malformed_json", reason: "test"))
        batch.offsets.append(AuditBatch.OffsetAdvance(partition: partition, expected: expected, next: offsets.upperBound + 1))
        return batch
    }

    @Test func aStaleOwnerCannotCommitAndLeavesNoRows() async throws {
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let writer = AuditWriter(connection: connection, schema: target.schema, groupID: "g", memberName: "a")
        let s = quoteIdentifier(target.schema)
        func count(_ table: String) throws -> Int64 { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).\(table)") }

        try await writer.write(batch(offsets: 0..<10, expected: nil))
        #expect(try count("decisions") == 10)
        #expect(try count("alerts") == 5)
        #expect(try count("dead_letters") == 1)

        // Another member that still believes the partition is new, or is one batch behind.
        for stale in [nil, Int64(5)] as [Int64?] {
            await #expect(throws: ServiceError.self) { try await writer.write(batch(offsets: 11..<20, expected: stale)) }
        }
        #expect(try count("decisions") == 10)
        #expect(try count("alerts") == 5)
        #expect(try count("dead_letters") == 1)
        #expect(try ServeTestSupport.scalar("SELECT next_offset FROM \(s).consumer_offsets") == 11)

        // The rightful owner goes on.
        try await writer.write(batch(offsets: 11..<20, expected: 11))
        #expect(try count("decisions") == 19)
        #expect(try ServeTestSupport.scalar("SELECT next_offset FROM \(s).consumer_offsets") == 21)

        // Even a writer that passed the fence cannot store an offset twice.
        await #expect(throws: PostgresError.self) { try await writer.write(batch(offsets: 15..<22, expected: 21)) }
        #expect(try count("decisions") == 19)
        await connection.close()
    }
}
