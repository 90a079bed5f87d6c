// The exactly-once sink's statements: the offset compare-and-sets, the rows of a batch
// (binary COPY in the chain's canonical column order), the chain links, entity snapshots,
// offset anomalies, and what a new owner of a partition reads back.
import Foundation
import VigilAudit
import VigilFeatures
import VigilKafka
import VigilPostgres

extension VigilSchema {
    /// Every partition's compare-and-set (`advance_offset`) in one statement, in batch order:
    /// for each, whether the stored offset was the expected one (and now is the next).
    func advanceOffsets(_ offsets: [AuditBatch.OffsetAdvance], group: String, member: String,
                        on session: PostgresSession) throws -> [(index: Int, advanced: Bool)] {
        var json = "["
        for (i, advance) in offsets.enumerated() {
            if i > 0 { json += "," }
            json += "{\"i\":\(i),\"topic\":\(JSONText.string(advance.partition.topic)),\"partition\":\(advance.partition.partition),"
            json += "\"expected\":\(advance.expected.map(String.init) ?? "null"),\"next\":\(advance.next)}"
        }
        json += "]"
        return try session.queryPrepared("vigil_advance_offsets", """
            SELECT o.i, \(s).advance_offset(\(group), o.topic, o.partition, o.expected, o.next, \(member)) AS advanced
            FROM jsonb_to_recordset(\(PostgresValue.jsonb(json))::jsonb) AS o(i integer, topic text, partition integer, expected bigint, next bigint)
            ORDER BY o.i
            """).map { (Int(try $0.decode("i", as: Int32.self)), try $0.decode("advanced", as: Bool.self)) }
    }

    /// The newest link's hash of each of `partitions` that has one, by index in `partitions`.
    func lastLinkHashes(_ partitions: [KafkaTopicPartition], on session: PostgresSession) throws -> [(index: Int, hash: [UInt8])] {
        var json = "["
        for (i, p) in partitions.enumerated() {
            if i > 0 { json += "," }
            json += "{\"i\":\(i),\"topic\":\(JSONText.string(p.topic)),\"partition\":\(p.partition)}"
        }
        json += "]"
        return try session.queryPrepared("vigil_last_links", """
            SELECT p.i, c.link_hash
            FROM jsonb_to_recordset(\(PostgresValue.jsonb(json))::jsonb) AS p(i integer, topic text, partition integer)
            CROSS JOIN LATERAL (
                SELECT link_hash FROM \(s).audit_chain a
                WHERE a.topic = p.topic AND a.kafka_partition = p.partition ORDER BY a.from_offset DESC LIMIT 1
            ) c
            """).map { (Int(try $0.decode("i", as: Int32.self)), try $0.decode("link_hash", as: [UInt8].self)) }
    }

    /// Binary COPY of one audited table's rows, in `AuditTable.columns` order; `body` appends them.
    @discardableResult
    func copyRows(into table: AuditTable, on session: PostgresSession, _ body: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        try session.copy(into: table.tableName, schema: name, columns: table.columns, body)
    }

    /// Binary COPY of chain links.
    func copyLinks(_ links: [ChainLink], on session: PostgresSession) throws {
        try session.copy(into: "audit_chain", schema: name, columns: ChainLink.columns) { writer in
            for link in links { try writer.appendRow(link.values()) }
        }
    }

    /// One row per anomaly; the same anomaly found again (a restart, the next owner) is kept once.
    func insertOffsetAnomaly(_ a: AuditBatch.OffsetAnomaly, group: String, member: String, on session: PostgresSession) throws {
        try session.execute("""
            INSERT INTO \(s).offset_anomalies (group_id, topic, kafka_partition, kind, stored_offset, log_offset, action, detected_by)
            VALUES (\(group), \(a.partition.topic), \(a.partition.partition), \(a.kind.rawValue), \(a.storedOffset), \(a.logOffset),
                    \(a.action.rawValue), \(member))
            ON CONFLICT (group_id, topic, kafka_partition, kind, stored_offset) DO NOTHING
            """)
    }

    /// Stores a partition's entity-state snapshot (only while its stored offset is `expected`,
    /// when given) and drops the older ones, which are never read again. Returns whether it
    /// was stored.
    @discardableResult
    func insertSnapshot(_ snapshot: AuditBatch.StateSnapshot, group: String, guardedBy expected: Int64?,
                        on session: PostgresSession) throws -> Bool {
        let p = snapshot.partition
        let inserted = try session.execute("""
            INSERT INTO \(s).entity_snapshots (group_id, topic, kafka_partition, through_offset, format_version, state)
            SELECT \(group), \(p.topic), \(p.partition), \(snapshot.through), \(Int32(FeatureExtractor.snapshotVersion)), \(snapshot.state)
            WHERE \(expected)::bigint IS NULL OR EXISTS (
                SELECT 1 FROM \(s).consumer_offsets o
                WHERE o.group_id = \(group) AND o.topic = \(p.topic) AND o.kafka_partition = \(p.partition) AND o.next_offset = \(expected))
            ON CONFLICT (group_id, topic, kafka_partition, through_offset) DO NOTHING
            """)
        if inserted > 0 || expected == nil {
            try session.execute("""
                DELETE FROM \(s).entity_snapshots
                WHERE group_id = \(group) AND topic = \(p.topic) AND kafka_partition = \(p.partition) AND through_offset < \(snapshot.through)
                """)
        }
        return inserted > 0
    }

    /// `consumer_offsets.next_offset` of every partition `group` stored, by topic.
    func storedOffsets(group: String, topics: [String]? = nil, partition: Int32? = nil,
                       on session: PostgresSession) throws -> [KafkaTopicPartition: Int64] {
        var stored: [KafkaTopicPartition: Int64] = [:]
        for row in try session.query("""
            SELECT topic, kafka_partition, next_offset FROM \(s).consumer_offsets
            WHERE group_id = \(group) AND (\(partition)::integer IS NULL OR kafka_partition = \(partition))
            """) {
            let p = KafkaTopicPartition(topic: try row.decode("topic"), partition: try row.decode("kafka_partition"))
            if topics?.contains(p.topic) ?? true { stored[p] = try row.decode("next_offset") }
        }
        return stored
    }

    /// The newest snapshot of a partition's entity state taken through `offset` or before, in
    /// this release's format: (through_offset, state).
    func latestSnapshot(group: String, partition p: KafkaTopicPartition, through offset: Int64,
                        on session: PostgresSession) throws -> (through: Int64, state: [UInt8])? {
        try session.query("""
            SELECT through_offset, state FROM \(s).entity_snapshots
            WHERE group_id = \(group) AND topic = \(p.topic) AND kafka_partition = \(p.partition) AND through_offset <= \(offset)
              AND format_version = \(Int32(FeatureExtractor.snapshotVersion))
            ORDER BY through_offset DESC LIMIT 1
            """).first.map { (try $0.decode("through_offset"), try $0.decode("state")) }
    }
}
