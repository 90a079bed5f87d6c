// The rows the sink writes, encoded once for both the COPY and the chain: each encoder appends
// a row's canonical columns (`AuditTable.columns`, in that order) to a COPY in progress or to
// a byte string, so the bytes hashed are the bytes sent, and the golden tests can check them
// without a server.
import Foundation
import VigilAudit
import VigilPostgres

enum AuditRows {
    /// `decisions`: `AuditTable.decisions.columns`.
    static func decision<W: PostgresFieldWriter>(_ row: AuditBatch.DecidedEvent, decidedAt: Date, into w: inout W) throws {
        let d = row.decision
        try w.append(Date(timeIntervalSince1970: Double(row.recordTimestampMillis) / 1000))
        w.append(row.offset)
        try w.append(Date(timeIntervalSince1970: Double(d.eventTimeMillis) / 1000))
        try w.append(decidedAt)
        w.append(d.amount)
        w.append(d.modelVersion)
        w.append(row.partition.partition)
        w.append(d.anomalyScore)
        w.append(d.fraudProbability)
        w.append(d.risk)
        try w.append(row.partition.topic)
        try w.append(d.eventID)
        try w.append(d.cardID)
        try w.append(d.merchantID)
        try w.append(d.currency)
        try w.append(d.outcome.rawValue)
        try w.append(ReasonText.compact(d.reasons))
        if row.features.isEmpty { w.appendNull() } else { w.append(floats: row.features) }
    }

    /// `alerts`: `AuditTable.alerts.columns`; reasons as PostgreSQL prints jsonb back.
    static func alert<W: PostgresFieldWriter>(_ row: AuditBatch.DecidedEvent, decidedAt: Date, into w: inout W) throws {
        let d = row.decision
        try w.append(d.eventID)
        try w.append(row.partition.topic)
        w.append(row.partition.partition)
        w.append(row.offset)
        try w.append(decidedAt)
        try w.append(d.cardID)
        try w.append(d.merchantID)
        w.append(d.amount)
        try w.append(d.currency)
        w.append(d.risk)
        w.append(d.modelVersion)
        try w.append(d.outcome.rawValue)
        try w.append(jsonb: ReasonText.canonicalJSON(d.reasons))
    }

    /// `dead_letters`: `AuditTable.deadLetters.columns`.
    static func deadLetter<W: PostgresFieldWriter>(_ letter: AuditBatch.DeadLetter, receivedAt: Date, into w: inout W) throws {
        try w.append(letter.partition.topic)
        w.append(letter.partition.partition)
        w.append(letter.offset)
        try w.append(receivedAt)
        try w.append(letter.reasonCode)
        // A reason quotes no payload bytes, but strip NUL defensively: text cannot hold it.
        try w.append(letter.reason.replacingOccurrences(of: "\u{0}", with: ""))
        if let key = letter.key { w.append(bytea: key) } else { w.appendNull() }
        w.append(bytea: letter.payload)
    }

    /// `labels` from the labels topic: `AuditTable.labels.columns`.
    static func label<W: PostgresFieldWriter>(_ row: AuditBatch.StreamLabel, into w: inout W) throws {
        try w.append(row.label.eventID)
        try w.append(row.label.isFraud ? "fraud" : "legit")
        try w.append("stream")
        try w.append(Date(timeIntervalSince1970: Double(row.label.timestampMillis) / 1000))
        try w.append(row.partition.topic)
        w.append(row.partition.partition)
        w.append(row.offset)
    }
}
