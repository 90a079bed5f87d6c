// The exactly-once sink: one PostgreSQL transaction per batch holding the offset
// compare-and-sets, every decision (binary COPY), the alerts, the dead letters and any
// state snapshots. If any partition's stored offset is not what this instance expects, it
// lost the partition: the whole transaction rolls back and nothing of the batch is kept.
import Foundation
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

    public init(connection: PostgresConnection, schema: String, groupID: String, memberName: String) {
        self.connection = connection
        self.schema = schema
        self.groupID = groupID
        self.memberName = memberName
    }

    private var s: String { quoteIdentifier(schema) }

    /// Writes the batch or nothing. Throws `ServiceError(.partitionFenced)` when an offset
    /// compare-and-set found another value (the partitions are named in the message).
    /// `beforeCommit` runs last inside the transaction: throwing there rolls it back (and
    /// releases the offset row locks at once), e.g. when the member lost its partitions.
    public func write(_ batch: AuditBatch, beforeCommit: @escaping @Sendable () throws -> Void = {}) async throws {
        guard !batch.isEmpty else { return }
        let s = self.s, group = groupID, member = memberName
        try await connection.transaction { session in
            // Offsets first: the row locks also make a concurrent owner wait for this commit.
            let fenced = try Self.advanceOffsets(batch.offsets, group: group, member: member, session: session, schema: s)
            if !fenced.isEmpty {
                throw ServiceError(.partitionFenced, "stored offsets moved under this instance for \(fenced.map(\.description).joined(separator: ", ")): another member owns them")
            }
            if !batch.decisions.isEmpty { try Self.copyDecisions(batch, session: session, schema: schema) }
            if batch.decisions.contains(where: { $0.decision.outcome.raisesAlert }) {
                try Self.copyAlerts(batch, session: session, schema: schema)
            }
            if !batch.deadLetters.isEmpty { try Self.copyDeadLetters(batch, session: session, schema: schema) }
            if !batch.labels.isEmpty { try Self.copyLabels(batch, session: session, schema: schema) }
            for snapshot in batch.snapshots {
                try Self.insertSnapshot(snapshot, group: group, session: session, schema: s, guardedBy: nil)
            }
            if !batch.offsetAnomalies.isEmpty {
                try Self.insertOffsetAnomalies(batch.offsetAnomalies, group: group, member: member, session: session, schema: s)
            }
            try beforeCommit()
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

    static let decisionColumns = ["kafka_timestamp", "decided_at", "event_id", "topic", "kafka_partition", "kafka_offset", "event_time", "card_id",
                                  "merchant_id", "amount", "currency", "anomaly_score", "classifier_score", "risk",
                                  "model_version", "decision", "reasons", "features"]

    static func copyDecisions(_ batch: AuditBatch, session: PostgresSession, schema: String) throws {
        try session.copy(into: "decisions", schema: schema, columns: decisionColumns) { writer in
            for row in batch.decisions {
                let d = row.decision
                writer.beginRow()
                writer.append(Date(timeIntervalSince1970: Double(row.recordTimestampMillis) / 1000))
                writer.append(batch.decidedAt)
                try writer.append(d.eventID)
                try writer.append(row.partition.topic)
                writer.append(row.partition.partition)
                writer.append(row.offset)
                writer.append(Date(timeIntervalSince1970: Double(d.eventTimeMillis) / 1000))
                try writer.append(d.cardID)
                try writer.append(d.merchantID)
                writer.append(d.amount)
                try writer.append(d.currency)
                writer.append(d.anomalyScore)
                writer.append(d.fraudProbability)
                writer.append(d.risk)
                writer.append(d.modelVersion)
                try writer.append(d.outcome.rawValue)
                try writer.append(jsonb: reasonsJSON(d.reasons))
                writer.append(floats: row.features.map { Optional($0) })
                try writer.endRow()
            }
        }
    }

    static func copyAlerts(_ batch: AuditBatch, session: PostgresSession, schema: String) throws {
        let columns = ["event_id", "topic", "kafka_partition", "kafka_offset", "decided_at", "card_id", "merchant_id", "amount",
                       "currency", "risk", "model_version", "decision", "reasons"]
        try session.copy(into: "alerts", schema: schema, columns: columns) { writer in
            for row in batch.decisions where row.decision.outcome.raisesAlert {
                let d = row.decision
                writer.beginRow()
                try writer.append(d.eventID)
                try writer.append(row.partition.topic)
                writer.append(row.partition.partition)
                writer.append(row.offset)
                writer.append(batch.decidedAt)
                try writer.append(d.cardID)
                try writer.append(d.merchantID)
                writer.append(d.amount)
                try writer.append(d.currency)
                writer.append(d.risk)
                writer.append(d.modelVersion)
                try writer.append(d.outcome.rawValue)
                try writer.append(jsonb: reasonsJSON(d.reasons))
                try writer.endRow()
            }
        }
    }

    static func copyDeadLetters(_ batch: AuditBatch, session: PostgresSession, schema: String) throws {
        let columns = ["topic", "kafka_partition", "kafka_offset", "received_at", "reason_code", "reason", "message_key", "payload"]
        try session.copy(into: "dead_letters", schema: schema, columns: columns) { writer in
            for letter in batch.deadLetters {
                writer.beginRow()
                try writer.append(letter.partition.topic)
                writer.append(letter.partition.partition)
                writer.append(letter.offset)
                writer.append(batch.decidedAt)
                try writer.append(letter.reasonCode)
                // A reason quotes no payload bytes, but strip NUL defensively: text cannot hold it.
                try writer.append(letter.reason.replacingOccurrences(of: "\u{0}", with: ""))
                if let key = letter.key { writer.append(bytea: key) } else { writer.appendNull() }
                writer.append(bytea: letter.payload)
                try writer.endRow()
            }
        }
    }

    static func copyLabels(_ batch: AuditBatch, session: PostgresSession, schema: String) throws {
        let columns = ["event_id", "label", "source", "labeled_at", "source_topic", "source_partition", "source_offset"]
        try session.copy(into: "labels", schema: schema, columns: columns) { writer in
            for row in batch.labels {
                writer.beginRow()
                try writer.append(row.label.eventID)
                try writer.append(row.label.isFraud ? "fraud" : "legit")
                try writer.append("stream")
                writer.append(Date(timeIntervalSince1970: Double(row.label.timestampMillis) / 1000))
                try writer.append(row.partition.topic)
                writer.append(row.partition.partition)
                writer.append(row.offset)
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

    /// `[{"name":..., "kind":..., "weight":...}, ...]`, strongest first.
    static func reasonsJSON(_ reasons: ReasonList) -> String {
        var out = "["
        for (i, r) in reasons.enumerated() {
            if i > 0 { out += "," }
            let kind = switch r.kind { case .reconstruction: "reconstruction"; case .classifier: "classifier"; case .rule: "rule" }
            let weight = r.weight.isFinite ? String((r.weight * 1000).rounded() / 1000) : "null"
            out += "{\"name\":\(JSONText.string(r.name)),\"kind\":\"\(kind)\",\"weight\":\(weight)}"
        }
        return out + "]"
    }
}
