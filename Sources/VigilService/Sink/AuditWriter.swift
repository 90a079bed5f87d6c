// The exactly-once sink: one PostgreSQL transaction per batch holding the offset
// compare-and-sets, every decision (binary COPY), the alerts, the dead letters, the labels,
// any state snapshots, and one hash-chain link per partition over the rows it wrote. If any
// partition's stored offset is not what this instance expects, it lost the partition: the
// whole transaction rolls back and nothing of the batch is kept.
import Foundation
import Synchronization
import VigilAudit
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres

/// Writes batches into the `vigil` schema (or a test schema of the same shape).
public struct AuditWriter: Sendable {
    public let connection: PostgresConnection
    public let schema: String
    public let groupID: String
    /// Stored in `consumer_offsets.updated_by`: which instance moved the offset.
    public let memberName: String
    /// Signs every chain link (nil: links are unsigned).
    public let signer: LinkSigner?
    /// The last link this writer committed per partition: a batch chains on it without a read.
    let heads = ChainHeads()

    public init(connection: PostgresConnection, schema: String, groupID: String, memberName: String, signer: LinkSigner? = nil) {
        self.connection = connection
        self.schema = schema
        self.groupID = groupID
        self.memberName = memberName
        self.signer = signer
    }

    /// A writer signing with `audit.signingKeyFile` when one is set.
    public init(connection: PostgresConnection, schema: String, groupID: String, memberName: String, audit: AuditConfiguration) throws {
        self.init(connection: connection, schema: schema, groupID: groupID, memberName: memberName, signer: try audit.signer())
    }

    private var s: String { quoteIdentifier(schema) }

    /// Writes the batch or nothing. Throws `ServiceError(.partitionFenced)` when an offset
    /// compare-and-set found another value (the partitions are named in the message).
    /// `beforeCommit` runs last inside the transaction: throwing there rolls it back (and
    /// releases the offset row locks at once), e.g. when the member lost its partitions.
    public func write(_ batch: AuditBatch, beforeCommit: @escaping @Sendable () throws -> Void = {}) async throws {
        guard !batch.isEmpty else { return }
        let s = self.s, group = groupID, member = memberName, signer = signer
        let known = heads.current
        do {
            let links = try await connection.transaction { session in
                // Offsets first: the row locks also make a concurrent owner wait for this commit.
                let fenced = try Self.advanceOffsets(batch.offsets, group: group, member: member, session: session, schema: s)
                if !fenced.isEmpty {
                    throw ServiceError(.partitionFenced, "stored offsets moved under this instance for \(fenced.map(\.description).joined(separator: ", ")): another member owns them")
                }
                var rows: [KafkaTopicPartition: LinkBuilder] = [:]
                if !batch.decisions.isEmpty { try Self.copyDecisions(batch, session: session, schema: schema, chain: &rows) }
                if batch.decisions.contains(where: { $0.decision.outcome.raisesAlert }) {
                    try Self.copyAlerts(batch, session: session, schema: schema, chain: &rows)
                }
                if !batch.deadLetters.isEmpty { try Self.copyDeadLetters(batch, session: session, schema: schema, chain: &rows) }
                if !batch.labels.isEmpty { try Self.copyLabels(batch, session: session, schema: schema, chain: &rows) }
                for snapshot in batch.snapshots {
                    try Self.insertSnapshot(snapshot, group: group, session: session, schema: s, guardedBy: nil)
                }
                let links = try Self.chainLinks(batch, rows: rows, known: known, signer: signer, session: session, schema: s)
                if !links.isEmpty {
                    try session.copy(into: "audit_chain", schema: schema, columns: ChainLink.columns) { writer in
                        for link in links { try writer.appendRow(link.values()) }
                    }
                }
                // Operational records, outside the chain: the offset anomalies found in this batch.
                if !batch.offsetAnomalies.isEmpty {
                    try Self.insertOffsetAnomalies(batch.offsetAnomalies, group: group, member: member, session: session, schema: s)
                }
                try beforeCommit()
                return links
            }
            heads.committed(links)
        } catch {
            // The transaction may or may not have committed (a lost connection at COMMIT): the
            // next batch of these partitions reads its previous link from the database.
            heads.forget(batch.offsets.map(\.partition))
            throw error
        }
    }

    /// One row per anomaly; the same anomaly found again (a restart, the next owner) is kept once.
    static func insertOffsetAnomalies(_ anomalies: [AuditBatch.OffsetAnomaly], group: String, member: String,
                                      session: PostgresSession, schema s: String) throws {
        for a in anomalies {
            try session.execute("""
                INSERT INTO \(s).offset_anomalies (group_id, topic, kafka_partition, kind, stored_offset, log_offset, action, detected_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                ON CONFLICT (group_id, topic, kafka_partition, kind, stored_offset) DO NOTHING
                """, [.text(group), .text(a.partition.topic), .int32(a.partition.partition), .text(a.kind.rawValue),
                      .int64(a.storedOffset), .int64(a.logOffset), .text(a.action.rawValue), .text(member)])
        }
    }

    /// One link per offset advance: the rows the batch wrote for that partition, chained on
    /// the previous link (from memory when this writer committed it, else from the table).
    static func chainLinks(_ batch: AuditBatch, rows: [KafkaTopicPartition: LinkBuilder], known: [KafkaTopicPartition: ChainHeads.Head],
                           signer: LinkSigner?, session: PostgresSession, schema s: String) throws -> [ChainLink] {
        let unknown = batch.offsets.filter { advance in
            guard let head = known[advance.partition], let expected = advance.expected else { return true }
            return head.next != expected
        }.map(\.partition)
        let stored = try lastLinks(unknown, session: session, schema: s)
        var links: [ChainLink] = []
        links.reserveCapacity(batch.offsets.count)
        for advance in batch.offsets {
            let p = advance.partition
            let builder = rows[p] ?? LinkBuilder(topic: p.topic, partition: p.partition)
            let previous: [UInt8]
            if let head = known[p], let expected = advance.expected, head.next == expected {
                previous = head.hash
            } else if let last = stored[p] {
                previous = last
            } else {
                // No link yet: a first commit starts a chain; offsets committed before the chain
                // existed (an upgraded database) are marked as not covered.
                previous = advance.expected == nil ? ChainLink.genesis : ChainLink.unchainedHistory
            }
            let from = advance.expected ?? Swift.min(builder.firstOffset ?? advance.next, advance.next)
            var link = builder.link(from: from, to: advance.next, committedAt: batch.decidedAt, previous: previous)
            try link.seal(signer: signer)
            links.append(link)
        }
        return links
    }

    /// The newest link's hash of each partition that has one.
    static func lastLinks(_ partitions: [KafkaTopicPartition], session: PostgresSession, schema s: String) throws -> [KafkaTopicPartition: [UInt8]] {
        guard !partitions.isEmpty else { return [:] }
        var json = "["
        for (i, p) in partitions.enumerated() {
            if i > 0 { json += "," }
            json += "{\"i\":\(i),\"topic\":\(JSONText.string(p.topic)),\"partition\":\(p.partition)}"
        }
        json += "]"
        let rows = try session.queryPrepared("vigil_last_links", """
            SELECT p.i, c.link_hash
            FROM jsonb_to_recordset($1::jsonb) AS p(i integer, topic text, partition integer)
            CROSS JOIN LATERAL (
                SELECT link_hash FROM \(s).audit_chain a
                WHERE a.topic = p.topic AND a.kafka_partition = p.partition ORDER BY a.from_offset DESC LIMIT 1
            ) c
            """, [.jsonb(json)])
        var found: [KafkaTopicPartition: [UInt8]] = [:]
        for row in rows { found[partitions[Int(try row.decode(0, as: Int32.self))]] = try row.decode(1, as: [UInt8].self) }
        return found
    }

    /// Every partition's compare-and-set in one statement (one round trip however many
    /// partitions the batch holds), in batch order; returns the partitions that were fenced.
    static func advanceOffsets(_ offsets: [AuditBatch.OffsetAdvance], group: String, member: String,
                               session: PostgresSession, schema s: String) throws -> [KafkaTopicPartition] {
        guard !offsets.isEmpty else { return [] }
        var json = "["
        for (i, advance) in offsets.enumerated() {
            if i > 0 { json += "," }
            json += "{\"i\":\(i),\"topic\":\(JSONText.string(advance.partition.topic)),\"partition\":\(advance.partition.partition),"
            json += "\"expected\":\(advance.expected.map(String.init) ?? "null"),\"next\":\(advance.next)}"
        }
        json += "]"
        let rows = try session.queryPrepared("vigil_advance_offsets", """
            SELECT o.i, \(s).advance_offset($1, o.topic, o.partition, o.expected, o.next, $2)
            FROM jsonb_to_recordset($3::jsonb) AS o(i integer, topic text, partition integer, expected bigint, next bigint)
            ORDER BY o.i
            """, [.text(group), .text(member), .jsonb(json)])
        var fenced: [KafkaTopicPartition] = []
        var answered = 0
        for row in rows {
            let i = Int(try row.decode(0, as: Int32.self))
            answered += 1
            if try !row.decode(1, as: Bool.self) { fenced.append(offsets[i].partition) }
        }
        guard answered == offsets.count else {
            throw ServiceError(.sinkFailed, "advance_offset answered for \(answered) of \(offsets.count) partitions")
        }
        return fenced
    }

    /// Stores snapshots outside a batch (revocation, shutdown), each only if the stored
    /// offset still equals `expected` (this instance still owns the partition).
    public func writeSnapshots(_ snapshots: [(AuditBatch.StateSnapshot, expected: Int64)]) async throws {
        guard !snapshots.isEmpty else { return }
        let s = self.s, group = groupID
        try await connection.transaction { session in
            for (snapshot, expected) in snapshots {
                try Self.insertSnapshot(snapshot, group: group, session: session, schema: s, guardedBy: expected)
            }
        }
    }

    static func copyDecisions(_ batch: AuditBatch, session: PostgresSession, schema: String,
                              chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try session.copy(into: "decisions", schema: schema, columns: AuditTable.decisions.columns) { writer in
            for row in batch.decisions {
                writer.beginRow()
                try AuditRows.decision(row, decidedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.decisions, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyAlerts(_ batch: AuditBatch, session: PostgresSession, schema: String,
                           chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try session.copy(into: "alerts", schema: schema, columns: AuditTable.alerts.columns) { writer in
            for row in batch.decisions where row.decision.outcome.raisesAlert {
                writer.beginRow()
                try AuditRows.alert(row, decidedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.alerts, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyDeadLetters(_ batch: AuditBatch, session: PostgresSession, schema: String,
                                chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try session.copy(into: "dead_letters", schema: schema, columns: AuditTable.deadLetters.columns) { writer in
            for letter in batch.deadLetters {
                writer.beginRow()
                try AuditRows.deadLetter(letter, receivedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[letter.partition, default: LinkBuilder(letter.partition)].add(.deadLetters, offset: letter.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyLabels(_ batch: AuditBatch, session: PostgresSession, schema: String,
                           chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try session.copy(into: "labels", schema: schema, columns: AuditTable.labels.columns) { writer in
            for row in batch.labels {
                writer.beginRow()
                try AuditRows.label(row, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.labels, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func insertSnapshot(_ snapshot: AuditBatch.StateSnapshot, group: String, session: PostgresSession, schema s: String,
                               guardedBy expected: Int64?) throws {
        let p = snapshot.partition
        var parameters: [PostgresValue] = [.text(group), .text(p.topic), .int32(p.partition), .int64(snapshot.through),
                                           .int32(Int32(FeatureExtractor.snapshotVersion)), .bytea(snapshot.state)]
        var guardClause = ""
        if let expected {
            parameters.append(.int64(expected))
            guardClause = " WHERE EXISTS (SELECT 1 FROM \(s).consumer_offsets o WHERE o.group_id = $1 AND o.topic = $2 AND o.kafka_partition = $3 AND o.next_offset = $7)"
        }
        let inserted = try session.execute("""
            INSERT INTO \(s).entity_snapshots (group_id, topic, kafka_partition, through_offset, format_version, state)
            SELECT $1, $2, $3, $4, $5, $6\(guardClause)
            ON CONFLICT (group_id, topic, kafka_partition, through_offset) DO NOTHING
            """, parameters)
        if inserted > 0 || expected == nil {
            // Older snapshots are never read again once a newer one is stored.
            try session.execute("DELETE FROM \(s).entity_snapshots WHERE group_id = $1 AND topic = $2 AND kafka_partition = $3 AND through_offset < $4",
                                [.text(group), .text(p.topic), .int32(p.partition), .int64(snapshot.through)])
        }
    }
}

extension LinkBuilder {
    init(_ partition: KafkaTopicPartition) { self.init(topic: partition.topic, partition: partition.partition) }
}

/// The newest link each partition's chain has in the database, as far as this writer knows:
/// set after each commit, dropped after any failure (the next batch then reads it back).
final class ChainHeads: Sendable {
    struct Head: Sendable {
        /// The link's `to_offset`: the stored offset it was committed with.
        var next: Int64
        var hash: [UInt8]
    }

    private let heads = Mutex<[KafkaTopicPartition: Head]>([:])

    var current: [KafkaTopicPartition: Head] { heads.withLock { $0 } }

    func committed(_ links: [ChainLink]) {
        heads.withLock { heads in
            for link in links {
                heads[KafkaTopicPartition(topic: link.topic, partition: link.partition)] = Head(next: link.toOffset, hash: link.linkHash)
            }
        }
    }

    func forget(_ partitions: [KafkaTopicPartition]) {
        heads.withLock { heads in for p in partitions { heads[p] = nil } }
    }
}
