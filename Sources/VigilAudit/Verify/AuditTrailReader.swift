// Every statement `vigil audit verify` runs, through the analyst-readable audit views of
// migration 0009 (so the analyst role can verify but never write the chain). Rows come back
// in binary format: their fields are the canonical bytes the chain hashed.
import VigilPostgres

public struct AuditTrailReader {
    let session: PostgresSession
    let s: PostgresIdentifier

    public init(session: PostgresSession, schema: String) {
        self.session = session
        s = PostgresIdentifier(schema)
    }

    /// The (topic, partition)s that have links or stored offsets, filtered.
    func partitions(topic: String?, partition: Int32?) throws -> [(topic: String, partition: Int32)] {
        var found: [(String, Int32)] = []
        try session.forEachBinaryRow("""
            SELECT topic, kafka_partition FROM \(s).audit_links
            WHERE (\(topic)::text IS NULL OR topic = \(topic)) AND (\(partition)::integer IS NULL OR kafka_partition = \(partition))
            GROUP BY 1, 2
            UNION
            SELECT topic, kafka_partition FROM \(s).audit_offsets
            WHERE (\(topic)::text IS NULL OR topic = \(topic)) AND (\(partition)::integer IS NULL OR kafka_partition = \(partition))
            ORDER BY 1, 2
            """) { row in
            found.append((try row.text(0), try row.int32(1)))
        }
        return found
    }

    /// Links and rows they cover, for progress: (links, rows) overlapping [from, to).
    func totals(topic: String, partition: Int32, from: Int64, to: Int64) throws -> (links: Int64, rows: Int64) {
        var result: (Int64, Int64) = (0, 0)
        try session.forEachBinaryRow("""
            SELECT count(*), coalesce(sum(decisions + alerts + dead_letters + labels), 0)::bigint FROM \(s).audit_links
            WHERE topic = \(topic) AND kafka_partition = \(partition) AND to_offset > \(from) AND from_offset < \(to)
            """) { row in
            result = (try row.int64(0), try row.int64(1))
        }
        return result
    }

    /// Up to `limit` links in from_offset order with from_offset >= `after` that overlap [from, to).
    func links(topic: String, partition: Int32, startingAt after: Int64, from: Int64, to: Int64, limit: Int) throws -> [StoredLink] {
        var links: [StoredLink] = []
        try session.forEachBinaryRow("""
            SELECT \(ChainLink.columns.map(PostgresIdentifier.init)) FROM \(s).audit_links
            WHERE topic = \(topic) AND kafka_partition = \(partition) AND from_offset >= \(after) AND to_offset > \(from) AND from_offset < \(to)
            ORDER BY from_offset LIMIT \(limit)
            """) { row in
            links.append(try StoredLink(row))
        }
        return links
    }

    /// The last link that starts below `offset`, if any (the predecessor of a window).
    func link(before offset: Int64, topic: String, partition: Int32) throws -> StoredLink? {
        var found: StoredLink?
        try session.forEachBinaryRow("""
            SELECT \(ChainLink.columns.map(PostgresIdentifier.init)) FROM \(s).audit_links
            WHERE topic = \(topic) AND kafka_partition = \(partition) AND from_offset < \(offset) ORDER BY from_offset DESC LIMIT 1
            """) { row in
            found = try StoredLink(row)
        }
        return found
    }

    /// Each stored row of `table` with an offset in [from, to), in offset order: its offset
    /// and its canonical fields.
    func rows(_ table: AuditTable, topic: String, partition: Int32, from: Int64, to: Int64,
              _ body: (Int64, ArraySlice<UInt8>) throws -> Void) throws -> Int {
        let offsetIndex = table.columns.firstIndex(of: table.offsetColumn)!
        let (t, p, o) = (PostgresIdentifier(table.topicColumn), PostgresIdentifier(table.partitionColumn), PostgresIdentifier(table.offsetColumn))
        return try session.forEachBinaryRow("""
            SELECT \(table.columns.map(PostgresIdentifier.init)) FROM \(s).\(PostgresIdentifier(table.viewName))
            WHERE \(t) = \(topic) AND \(p) = \(partition) AND \(o) >= \(from) AND \(o) < \(to)
            ORDER BY \(o)
            """) { row in
            try body(try row.int64(offsetIndex), row.fields(0..<row.columnCount))
        }
    }

    /// How many rows of `table` lie in [from, to), and the lowest of their offsets.
    func rowsOutside(_ table: AuditTable, topic: String, partition: Int32, from: Int64, to: Int64) throws -> (count: Int64, first: Int64?) {
        var result: (Int64, Int64?) = (0, nil)
        let (t, p, o) = (PostgresIdentifier(table.topicColumn), PostgresIdentifier(table.partitionColumn), PostgresIdentifier(table.offsetColumn))
        try session.forEachBinaryRow("""
            SELECT count(*), min(\(o)) FROM \(s).\(PostgresIdentifier(table.viewName))
            WHERE \(t) = \(topic) AND \(p) = \(partition) AND \(o) >= \(from) AND \(o) < \(to)
            """) { row in
            result = (try row.int64(0), row.isNull(1) ? nil : try row.int64(1))
        }
        return result
    }

    /// The highest next offset any consumer group stored for the partition.
    func committedNext(topic: String, partition: Int32) throws -> Int64? {
        var next: Int64?
        try session.forEachBinaryRow("""
            SELECT max(next_offset) FROM \(s).audit_offsets WHERE topic = \(topic) AND kafka_partition = \(partition)
            """) { row in
            next = row.isNull(0) ? nil : try row.int64(0)
        }
        return next
    }
}
