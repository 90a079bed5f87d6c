// What PostgreSQL alone takes of the e2e workload: the rows the pipeline stored, written
// again into the same tables the same way (binary COPY, one transaction per batch) with no
// Kafka, decoding or scoring in front. The pipeline's events/s is printed against it.
import VigilPostgres

enum AuditCeiling {
    /// Columns the sink writes into `alerts` (the rest are generated or defaulted).
    static let alertColumns = ["event_id", "topic", "kafka_partition", "kafka_offset", "decided_at", "card_id", "merchant_id", "amount",
                               "currency", "risk", "model_version", "decision", "reasons"]
    /// Added to every stored offset so the copies do not collide with the originals' keys.
    static let offsetShift: Int64 = 1_000_000_000_000

    /// Decisions per second of writing the stored decisions and their alerts again, `batch`
    /// decisions (with their alerts) per transaction. The copies stay in the schema.
    static func measure(connection: PostgresConnection, schema: String, batch: Int) async throws -> Double {
        let s = quoteIdentifier(schema)
        let decisions = try await connection.query("SELECT * FROM \(s).decisions ORDER BY kafka_partition, kafka_offset")
        let alerts = try await connection.query(
            "SELECT \(alertColumns.map(quoteIdentifier).joined(separator: ", ")) FROM \(s).alerts ORDER BY kafka_partition, kafka_offset")
        let decisionColumns = decisions.columns.map(\.name)
        let decisionRows = try decisions.map { try shifted($0, columns: decisionColumns) }
        var alertRows: [Key: [PostgresValue]] = [:]
        for row in alerts { alertRows[try key(row)] = try shifted(row, columns: alertColumns) }
        let keys = try decisions.map(key)
        let started = ContinuousClock.now
        for start in stride(from: 0, to: decisionRows.count, by: batch) {
            let range = start..<min(start + batch, decisionRows.count)
            let chunk = Array(decisionRows[range])
            let chunkAlerts = keys[range].compactMap { alertRows[$0] }
            try await connection.transaction { session in
                try session.copy(into: "decisions", schema: schema, columns: decisionColumns) { writer in
                    for row in chunk { try writer.appendRow(row) }
                }
                if !chunkAlerts.isEmpty {
                    try session.copy(into: "alerts", schema: schema, columns: alertColumns) { writer in
                        for row in chunkAlerts { try writer.appendRow(row) }
                    }
                }
            }
        }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        return Double(decisionRows.count) / (Double(seconds) + Double(attoseconds) / 1e18)
    }

    struct Key: Hashable { var partition: Int32; var offset: Int64 }

    static func key(_ row: PostgresRow) throws -> Key {
        Key(partition: try row.decode("kafka_partition", as: Int32.self), offset: try row.decode("kafka_offset", as: Int64.self))
    }

    static func shifted(_ row: PostgresRow, columns: [String]) throws -> [PostgresValue] {
        var values = row.values
        guard let i = columns.firstIndex(of: "kafka_offset"), case .int64(let offset) = values[i] else {
            throw PostgresError(.decoding, reason: "no int8 kafka_offset column")
        }
        values[i] = .int64(offset + offsetShift)
        return values
    }
}
