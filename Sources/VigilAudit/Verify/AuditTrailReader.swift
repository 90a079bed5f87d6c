// Every statement `vigil audit verify` runs, through the analyst-readable audit views of
// migration 0009 (so the analyst role can verify but never write the chain). Rows come back
// in binary format: their fields are the canonical bytes the chain hashed.
import VigilPostgres

public struct AuditTrailReader {
    let session: PostgresSession
    /// The quoted schema name.
    let s: String

    public init(session: PostgresSession, schema: String) {
        self.session = session
        s = quoteIdentifier(schema)
    }

    /// The (topic, partition)s that have links or stored offsets, filtered.
    func partitions(topic: String?, partition: Int32?) throws -> [(topic: String, partition: Int32)] {
        var found: [(String, Int32)] = []
        try session.forEachBinaryRow("""
            SELECT topic, kafka_partition FROM \(s).audit_links
            WHERE ($1::text IS NULL OR topic = $1) AND ($2::integer IS NULL OR kafka_partition = $2)
            GROUP BY 1, 2
            UNION
            SELECT topic, kafka_partition FROM \(s).audit_offsets
            WHERE ($1::text IS NULL OR topic = $1) AND ($2::integer IS NULL OR kafka_partition = $2)
            ORDER BY 1, 2
            """, [topic.map(PostgresValue.text) ?? .null, partition.map(PostgresValue.int32) ?? .null]) { row in
            found.append((try row.text(0), try row.int32(1)))
        }
        return found
    }

    /// Links and rows they cover, for progress: (links, rows) overlapping [from, to).
    func totals(topic: String, partition: Int32, from: Int64, to: Int64) throws -> (links: Int64, rows: Int64) {
        var result: (Int64, Int64) = (0, 0)
        try session.forEachBinaryRow("""
            SELECT count(*), coalesce(sum(decisions + alerts + dead_letters + labels), 0)::bigint FROM \(s).audit_links
            WHERE topic = $1 AND kafka_partition = $2 AND to_offset > $3 AND from_offset < $4
            """, [.text(topic), .int32(partition), .int64(from), .int64(to)]) { row in
            result = (try row.int64(0), try row.int64(1))
        }
        return result
    }

    /// Up to `limit` links in from_offset order with from_offset >= `after` that overlap [from, to).
    func links(topic: String, partition: Int32, startingAt after: Int64, from: Int64, to: Int64, limit: Int) throws -> [StoredLink] {
        var links: [StoredLink] = []
        try session.forEachBinaryRow("""
            SELECT \(ChainLink.columns.map(quoteIdentifier).joined(separator: ", ")) FROM \(s).audit_links
            WHERE topic = $1 AND kafka_partition = $2 AND from_offset >= $3 AND to_offset > $4 AND from_offset < $5
            ORDER BY from_offset LIMIT $6
            """, [.text(topic), .int32(partition), .int64(after), .int64(from), .int64(to), .int64(Int64(limit))]) { row in
            links.append(try StoredLink(row))
        }
        return links
    }

    /// The last link that starts below `offset`, if any (the predecessor of a window).
    func link(before offset: Int64, topic: String, partition: Int32) throws -> StoredLink? {
        var found: StoredLink?
        try session.forEachBinaryRow("""
            SELECT \(ChainLink.columns.map(quoteIdentifier).joined(separator: ", ")) FROM \(s).audit_links
            WHERE topic = $1 AND kafka_partition = $2 AND from_offset < $3 ORDER BY from_offset DESC LIMIT 1
            """, [.text(topic), .int32(partition), .int64(offset)]) { row in
            found = try StoredLink(row)
        }
        return found
    }

    /// Each stored row of `table` with an offset in [from, to), in offset order: its offset
    /// and its canonical fields.
    func rows(_ table: AuditTable, topic: String, partition: Int32, from: Int64, to: Int64,
              _ body: (Int64, ArraySlice<UInt8>) throws -> Void) throws -> Int {
        let offsetIndex = table.columns.firstIndex(of: table.offsetColumn)!
        return try session.forEachBinaryRow("""
            SELECT \(table.columns.map(quoteIdentifier).joined(separator: ", ")) FROM \(s).\(quoteIdentifier(table.viewName))
            WHERE \(table.topicColumn) = $1 AND \(table.partitionColumn) = $2 AND \(table.offsetColumn) >= $3 AND \(table.offsetColumn) < $4
            ORDER BY \(table.offsetColumn)
            """, [.text(topic), .int32(partition), .int64(from), .int64(to)]) { row in
            try body(try row.int64(offsetIndex), row.fields(0..<row.columnCount))
        }
    }

    /// How many rows of `table` lie in [from, to), and the lowest of their offsets.
    func rowsOutside(_ table: AuditTable, topic: String, partition: Int32, from: Int64, to: Int64) throws -> (count: Int64, first: Int64?) {
        var result: (Int64, Int64?) = (0, nil)
        try session.forEachBinaryRow("""
            SELECT count(*), min(\(table.offsetColumn)) FROM \(s).\(quoteIdentifier(table.viewName))
            WHERE \(table.topicColumn) = $1 AND \(table.partitionColumn) = $2 AND \(table.offsetColumn) >= $3 AND \(table.offsetColumn) < $4
            """, [.text(topic), .int32(partition), .int64(from), .int64(to)]) { row in
            result = (try row.int64(0), row.isNull(1) ? nil : try row.int64(1))
        }
        return result
    }

    /// The highest next offset any consumer group stored for the partition.
    func committedNext(topic: String, partition: Int32) throws -> Int64? {
        var next: Int64?
        try session.forEachBinaryRow("""
            SELECT max(next_offset) FROM \(s).audit_offsets WHERE topic = $1 AND kafka_partition = $2
            """, [.text(topic), .int32(partition)]) { row in
            next = row.isNull(0) ? nil : try row.int64(0)
        }
        return next
    }
}
