// The tables the chain covers and, for each, the columns of its canonical row: the columns
// the sink COPYs, in COPY order. A row's canonical bytes are those columns' binary COPY
// fields, which is what the sink sends and what verify reads back (sql/README.md).

/// A table whose rows a chain link covers, in the order a link hashes them.
public enum AuditTable: Int, CaseIterable, Sendable, CustomStringConvertible {
    case decisions = 0, alerts, deadLetters, labels

    /// The bit of this table in a row map entry's mask.
    public var bit: UInt8 { 1 << UInt8(rawValue) }

    /// The table in the `vigil` schema.
    public var tableName: String {
        switch self {
        case .decisions: "decisions"
        case .alerts: "alerts"
        case .deadLetters: "dead_letters"
        case .labels: "labels"
        }
    }

    /// The analyst-readable view verify reads the table through (migration 0009).
    public var viewName: String { "audit_" + tableName }

    public var description: String {
        switch self {
        case .decisions: "decision"
        case .alerts: "alert"
        case .deadLetters: "dead letter"
        case .labels: "label"
        }
    }

    /// The canonical columns, in order. The sink COPYs exactly these, in this order.
    public var columns: [String] {
        switch self {
        case .decisions: AuditTable.decisionColumns
        case .alerts: ["event_id", "topic", "kafka_partition", "kafka_offset", "decided_at", "card_id", "merchant_id", "amount",
                       "currency", "risk", "model_version", "decision", "reasons"]
        case .deadLetters: ["topic", "kafka_partition", "kafka_offset", "received_at", "reason_code", "reason", "message_key", "payload"]
        case .labels: ["event_id", "label", "source", "labeled_at", "source_topic", "source_partition", "source_offset"]
        }
    }

    static let decisionColumns = [
        "kafka_timestamp", "kafka_offset", "event_time", "decided_at", "amount", "model_version", "kafka_partition",
        "anomaly_score", "classifier_score", "risk", "topic", "event_id", "card_id", "merchant_id", "currency",
        "decision", "reasons", "features",
    ]

    /// The columns holding the Kafka coordinates the row came from.
    public var topicColumn: String { self == .labels ? "source_topic" : "topic" }
    public var partitionColumn: String { self == .labels ? "source_partition" : "kafka_partition" }
    public var offsetColumn: String { self == .labels ? "source_offset" : "kafka_offset" }
}
