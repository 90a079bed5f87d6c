// What PostgreSQL alone takes of the e2e workload: the rows the pipeline stored, written
// again into the same tables the same way (binary COPY, one transaction per batch) with no
// Kafka, decoding or scoring in front. The pipeline's events/s is printed against it.
// `measureBefore` writes the same decisions as migration 0001's row (every feature vector,
// jsonb reasons, its key and three B-tree indexes) into a table of that shape: the ceiling
// before the row was redesigned, measured in the same run.
import Foundation
import VigilEngine
import VigilPostgres

enum AuditCeiling {
    /// Columns the sink writes into `alerts` (the rest are generated or defaulted).
    static let alertColumns = ["event_id", "topic", "kafka_partition", "kafka_offset", "decided_at", "card_id", "merchant_id", "amount",
                               "currency", "risk", "model_version", "decision", "reasons"]
    /// Added to every stored offset so the copies do not collide with the originals' keys.
    static let offsetShift: Int64 = 1_000_000_000_000

    /// Decisions per second of writing the stored decisions and their alerts again, `batch`
    /// decisions (with their alerts) per transaction. The copies stay in the schema.
    /// The rate, and the PostgreSQL backend's CPU per event (nil when /proc cannot tell):
    /// steadier than the rate on a busy machine.
    struct Figures { var rate: Double; var cpuMicroseconds: Double? }

    static func measure(connection: PostgresConnection, schema: String, batch: Int) async throws -> Figures {
        let s = quoteIdentifier(schema)
        let decisions = try await connection.query("SELECT * FROM \(s).decisions ORDER BY kafka_partition, kafka_offset", [])
        let columns = decisions.columns.map(\.name)
        let rows = try decisions.map { try shifted($0, columns: columns, by: offsetShift) }
        return try await write(rows, columns: columns, keys: try decisions.map(key), into: "decisions", connection: connection, schema: schema,
                               batch: batch, alertShift: offsetShift)
    }

    /// The same, into a table shaped as migration 0001's decisions (created here, dropped after):
    /// every decision with a feature vector of `featureWidth` values (stored vectors where the
    /// sink kept one, zeros of the same width elsewhere: the bytes and the server's work are the
    /// same) and its reasons as 0001's jsonb. Returns the rate and the row's bytes.
    static func measureBefore(connection: PostgresConnection, schema: String, batch: Int, featureWidth: Int) async throws -> (rate: Figures, bytes: RowBytes) {
        let s = quoteIdentifier(schema)
        let day = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        let from = ISO8601DateFormatter().string(from: day.addingTimeInterval(-86_400)), to = ISO8601DateFormatter().string(from: day.addingTimeInterval(2 * 86_400))
        for statement in [
            """
            CREATE TABLE \(s).decisions_before (
                kafka_timestamp timestamptz NOT NULL, topic text NOT NULL, kafka_partition integer NOT NULL, kafka_offset bigint NOT NULL,
                event_id text NOT NULL, event_time timestamptz NOT NULL, decided_at timestamptz NOT NULL, card_id text NOT NULL,
                merchant_id text NOT NULL, amount double precision NOT NULL, currency text NOT NULL, anomaly_score real NOT NULL,
                classifier_score real NOT NULL, risk real NOT NULL, model_version bigint NOT NULL,
                decision text NOT NULL CHECK (decision IN ('allow', 'review', 'block')), reasons jsonb NOT NULL DEFAULT '[]', features real[],
                UNIQUE (topic, kafka_partition, kafka_offset, kafka_timestamp)
            ) PARTITION BY RANGE (kafka_timestamp)
            """,
            "CREATE TABLE \(s).decisions_before_days PARTITION OF \(s).decisions_before FOR VALUES FROM ('\(from)') TO ('\(to)')",
            "CREATE TABLE \(s).decisions_before_default PARTITION OF \(s).decisions_before DEFAULT",
            "CREATE INDEX ON \(s).decisions_before (event_id)",
            "CREATE INDEX ON \(s).decisions_before (card_id, decided_at)",
        ] { try await connection.execute(PostgresQuery(unsafeSQL: statement)) }
        let decisions = try await connection.query("""
            SELECT kafka_timestamp, topic, kafka_partition, kafka_offset, event_id, event_time, decided_at, card_id, merchant_id, amount,
                   currency, anomaly_score, classifier_score, risk, model_version, decision, reasons, features
            FROM \(s).decisions WHERE kafka_offset < $1 ORDER BY kafka_partition, kafka_offset
            """, [.int64(offsetShift)])
        let columns = decisions.columns.map(\.name)
        let zeros = [Float?](repeating: 0, count: featureWidth)
        let rows = try decisions.map { row -> [PostgresValue] in
            var values = try shifted(row, columns: columns, by: 2 * offsetShift)
            values[16] = .jsonb(legacyReasons(try row.decode(16, as: String.self)))
            if values[17].isNull { values[17] = .float32Array(zeros) }
            return values
        }
        let rate = try await write(rows, columns: columns, keys: try decisions.map(key), into: "decisions_before", connection: connection,
                                   schema: schema, batch: batch, alertShift: 2 * offsetShift)
        let bytes = try await RowBytes.measure(connection: connection, table: "\(s).decisions_before")
        try await connection.execute("DROP TABLE \(s).decisions_before", [])
        return (rate, bytes)
    }

    private static func write(_ rows: [[PostgresValue]], columns: [String], keys: [Key], into table: String, connection: PostgresConnection,
                              schema: String, batch: Int, alertShift: Int64) async throws -> Figures {
        let s = quoteIdentifier(schema)
        let pid = try await connection.backendPID()
        let cpuBefore = BackendCPU.seconds(pid: pid)
        let alerts = try await connection.query(
            "SELECT \(alertColumns.map(quoteIdentifier).joined(separator: ", ")) FROM \(s).alerts WHERE kafka_offset < $1 ORDER BY kafka_partition, kafka_offset",
            [.int64(offsetShift)])
        var alertRows: [Key: [PostgresValue]] = [:]
        for row in alerts { alertRows[try key(row)] = try shifted(row, columns: alertColumns, by: alertShift) }
        let started = ContinuousClock.now
        for start in stride(from: 0, to: rows.count, by: batch) {
            let range = start..<min(start + batch, rows.count)
            let chunk = Array(rows[range])
            let chunkAlerts = keys[range].compactMap { alertRows[$0] }
            try await connection.transaction { session in
                try session.copy(into: table, schema: schema, columns: columns) { writer in
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
        let cpu = BackendCPU.seconds(pid: pid).flatMap { after in cpuBefore.map { (after - $0) / Double(rows.count) * 1e6 } }
        return Figures(rate: Double(rows.count) / (Double(seconds) + Double(attoseconds) / 1e18), cpuMicroseconds: cpu)
    }

    /// `r:amount=12.5;c:x=0.4` as migration 0001 stored reasons: `[{"name":..., "kind":..., "weight":...}]`.
    static func legacyReasons(_ compact: String) -> String {
        let entries = compact.split(separator: ";").map { entry -> String in
            let kind = RiskReason.Kind(code: entry.prefix(1))?.name ?? "rule"
            let body = entry.dropFirst(2)
            let equals = body.lastIndex(of: "=") ?? body.endIndex
            let weight = equals < body.endIndex ? String(body[body.index(after: equals)...]) : "null"
            let name = String(body[..<equals]).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "{\"name\":\"\(name)\",\"kind\":\"\(kind)\",\"weight\":\(Double(weight) == nil ? "null" : weight)}"
        }
        return "[" + entries.joined(separator: ",") + "]"
    }

    struct Key: Hashable { var partition: Int32; var offset: Int64 }

    static func key(_ row: PostgresRow) throws -> Key {
        Key(partition: try row.decode("kafka_partition", as: Int32.self), offset: try row.decode("kafka_offset", as: Int64.self))
    }

    static func shifted(_ row: PostgresRow, columns: [String], by shift: Int64) throws -> [PostgresValue] {
        var values = row.values
        guard let i = columns.firstIndex(of: "kafka_offset"), case .int64(let offset) = values[i] else {
            throw PostgresError(.decoding, reason: "no int8 kafka_offset column")
        }
        values[i] = .int64(offset + shift)
        return values
    }
}

/// What one decision takes on disk in a (partitioned) table: tuple, heap and index bytes.
struct RowBytes: Sendable {
    var rows: Int64 = 0
    var tuple: Double = 0
    var heap: Double = 0
    var index: Double = 0
    var total: Double { heap + index }

    static func measure(connection: PostgresConnection, table: String, where condition: String = "true") async throws -> RowBytes {
        let sizes = try await connection.query("""
            SELECT coalesce(sum(pg_relation_size(relid)), 0)::bigint, coalesce(sum(pg_indexes_size(relid)), 0)::bigint
            FROM pg_partition_tree($1::regclass) WHERE isleaf
            """, [.text(table)]).single()
        let counts = try await connection.query("SELECT count(*), coalesce(avg(pg_column_size(t.*)), 0)::float8 FROM \(table) t WHERE \(condition)", []).single()
        let rows = try counts.decode(0, as: Int64.self)
        guard rows > 0 else { return RowBytes() }
        return RowBytes(rows: rows, tuple: try counts.decode(1, as: Double.self),
                        heap: Double(try sizes.decode(0, as: Int64.self)) / Double(rows), index: Double(try sizes.decode(1, as: Int64.self)) / Double(rows))
    }
}
