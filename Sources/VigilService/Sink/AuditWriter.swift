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

    var statements: VigilSchema { VigilSchema(schema) }

    /// Writes the batch or nothing. Throws `ServiceError(.partitionFenced)` when an offset
    /// compare-and-set found another value (the partitions are named in the message).
    /// `beforeCommit` runs last inside the transaction: throwing there rolls it back (and
    /// releases the offset row locks at once), e.g. when the member lost its partitions.
    public func write(_ batch: AuditBatch, beforeCommit: @escaping @Sendable () throws -> Void = {}) async throws {
        guard !batch.isEmpty else { return }
        let statements = self.statements, group = groupID, member = memberName, signer = signer
        let known = heads.current
        do {
            let links = try await connection.transaction { session in
                // Offsets first: the row locks also make a concurrent owner wait for this commit.
                let fenced = try Self.advanceOffsets(batch.offsets, group: group, member: member, statements: statements, session: session)
                if !fenced.isEmpty {
                    throw ServiceError(.partitionFenced, "stored offsets moved under this instance for \(fenced.map(\.description).joined(separator: ", ")): another member owns them")
                }
                var rows: [KafkaTopicPartition: LinkBuilder] = [:]
                if !batch.decisions.isEmpty { try Self.copyDecisions(batch, statements: statements, session: session, chain: &rows) }
                if batch.decisions.contains(where: { $0.decision.outcome.raisesAlert }) {
                    try Self.copyAlerts(batch, statements: statements, session: session, chain: &rows)
                }
                if !batch.deadLetters.isEmpty { try Self.copyDeadLetters(batch, statements: statements, session: session, chain: &rows) }
                if !batch.labels.isEmpty { try Self.copyLabels(batch, statements: statements, session: session, chain: &rows) }
                for snapshot in batch.snapshots {
                    try statements.insertSnapshot(snapshot, group: group, guardedBy: nil, on: session)
                }
                let links = try Self.chainLinks(batch, rows: rows, known: known, signer: signer, statements: statements, session: session)
                if !links.isEmpty { try statements.copyLinks(links, on: session) }
                // Operational records, outside the chain: the offset anomalies found in this batch.
                for anomaly in batch.offsetAnomalies {
                    try statements.insertOffsetAnomaly(anomaly, group: group, member: member, on: session)
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

    /// One link per offset advance: the rows the batch wrote for that partition, chained on
    /// the previous link (from memory when this writer committed it, else from the table).
    static func chainLinks(_ batch: AuditBatch, rows: [KafkaTopicPartition: LinkBuilder], known: [KafkaTopicPartition: ChainHeads.Head],
                           signer: LinkSigner?, statements: VigilSchema, session: PostgresSession) throws -> [ChainLink] {
        let unknown = batch.offsets.filter { advance in
            guard let head = known[advance.partition], let expected = advance.expected else { return true }
            return head.next != expected
        }.map(\.partition)
        var stored: [KafkaTopicPartition: [UInt8]] = [:]
        if !unknown.isEmpty {
            for (i, hash) in try statements.lastLinkHashes(unknown, on: session) { stored[unknown[i]] = hash }
        }
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

    /// Every partition's compare-and-set in one statement (one round trip however many
    /// partitions the batch holds), in batch order; returns the partitions that were fenced.
    static func advanceOffsets(_ offsets: [AuditBatch.OffsetAdvance], group: String, member: String,
                               statements: VigilSchema, session: PostgresSession) throws -> [KafkaTopicPartition] {
        guard !offsets.isEmpty else { return [] }
        let answers = try statements.advanceOffsets(offsets, group: group, member: member, on: session)
        var fenced: [KafkaTopicPartition] = []
        var answered = 0
        for (i, advanced) in answers {
            answered += 1
            if !advanced { fenced.append(offsets[i].partition) }
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
        let statements = self.statements, group = groupID
        try await connection.transaction { session in
            for (snapshot, expected) in snapshots {
                try statements.insertSnapshot(snapshot, group: group, guardedBy: expected, on: session)
            }
        }
    }

    static func copyDecisions(_ batch: AuditBatch, statements: VigilSchema, session: PostgresSession,
                              chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try statements.copyRows(into: .decisions, on: session) { writer in
            for row in batch.decisions {
                writer.beginRow()
                try AuditRows.decision(row, decidedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.decisions, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyAlerts(_ batch: AuditBatch, statements: VigilSchema, session: PostgresSession,
                           chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try statements.copyRows(into: .alerts, on: session) { writer in
            for row in batch.decisions where row.decision.outcome.raisesAlert {
                writer.beginRow()
                try AuditRows.alert(row, decidedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.alerts, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyDeadLetters(_ batch: AuditBatch, statements: VigilSchema, session: PostgresSession,
                                chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try statements.copyRows(into: .deadLetters, on: session) { writer in
            for letter in batch.deadLetters {
                writer.beginRow()
                try AuditRows.deadLetter(letter, receivedAt: batch.decidedAt, into: &writer)
                writer.withCurrentRowFields { chain[letter.partition, default: LinkBuilder(letter.partition)].add(.deadLetters, offset: letter.offset, fields: $0) }
                try writer.endRow()
            }
        }
    }

    static func copyLabels(_ batch: AuditBatch, statements: VigilSchema, session: PostgresSession,
                           chain: inout [KafkaTopicPartition: LinkBuilder]) throws {
        try statements.copyRows(into: .labels, on: session) { writer in
            for row in batch.labels {
                writer.beginRow()
                try AuditRows.label(row, into: &writer)
                writer.withCurrentRowFields { chain[row.partition, default: LinkBuilder(row.partition)].add(.labels, offset: row.offset, fields: $0) }
                try writer.endRow()
            }
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
