// `tools/bench audit-row`: what each column and index of a decision row costs. The same
// realistic decided events (DecidedRows) are COPYed, one transaction per batch as the sink
// writes them, into one table per layout (AuditRowLayout); layouts take turns round by round
// so a busy neighbour slows them alike, and each layout's median round counts.
import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VigilPostgres
import VigilService

struct AuditRowBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-row",
        abstract: "COPY rows/s and bytes per decision of each decision-row layout (the cost of every column and index)."
    )

    @Option(help: "Decided events per layout and round.") var rows = 200_000
    @Option(help: "Rows per transaction (the sink's batch).") var batch = 5_000
    @Option(help: "Rounds; layouts take turns in a rotated order each round, the median counts.") var rounds = 3
    @Option(help: "Events of earlier history the first model is trained on.") var warmUpEvents = 60_000
    @Option(help: "Only the layouts whose names are listed (comma-separated).") var only: String?

    func validate() throws {
        guard rows >= 1_000, batch > 0, rounds > 0, warmUpEvents >= 2_000 else {
            throw ValidationError("rows >= 1000, batch and rounds > 0, warm-up events >= 2000")
        }
    }

    func run() async throws {
        let url = try BenchReport.environment("VIGIL_DATABASE_URL")
        var layouts = AuditRowLayout.variants()
        if let only {
            let names = Set(only.split(separator: ",").map(String.init))
            layouts = layouts.filter { names.contains($0.name) }
        }
        guard !layouts.isEmpty else { throw ValidationError("no layout selected") }
        let source = try DecidedRows.make(count: rows, warmUpEvents: warmUpEvents, partitions: 4, topic: "transactions")
        print("\(source.events.count) decided events, \(source.alerts) alerts, \(source.featureWidth) features per vector; \(rows / batch) transactions per layout and round")

        let connection = PostgresConnection(configuration: try PostgresConfiguration(url: url), label: "bench.audit-row")
        let schema = "bench_row_\(UUID().uuidString.prefix(8).lowercased())"
        let s = quoteIdentifier(schema)
        try await connection.execute("CREATE SCHEMA \(s)", [])
        let day = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        var results: [String: [Measurement]] = [:]
        do {
            for round in 0..<rounds {
                for k in 0..<layouts.count {
                    let layout = layouts[(k + round) % layouts.count]
                    let m = try await measure(layout, source.events, connection: connection, schema: schema, day: day)
                    results[layout.name, default: []].append(m)
                    print("round \(round + 1) \(layout.name): \(BenchReport.rate(m.rowsPerSecond)) rows, server CPU \(m.cpuMicroseconds.map { String(format: "%.2f", $0) } ?? "?") µs/row, WAL \(Int(m.walBytes)) B/row")
                }
            }
        } catch {
            _ = try? await connection.execute("DROP SCHEMA \(s) CASCADE", [])
            throw error
        }
        _ = try? await connection.execute("DROP SCHEMA \(s) CASCADE", [])
        await connection.close()

        let base = results["legacy"].map(Measurement.median)
        // Migration 0008's row is "chosen"; "legacy" is 0001's.
        print("\nmedians of \(rounds) rounds; server CPU is the PostgreSQL backend's user+system time (steadier than rows/s on a busy machine)")
        print("layout                  rows/s  vs legacy  CPU µs/row  CPU vs legacy  WAL B/row  tuple B  heap B/row  index B/row  total B/row  what")
        var figures: [String: Any] = ["bench": "audit-row", "rows": source.events.count, "batch": batch, "rounds": rounds,
                                      "alerts": source.alerts, "feature_width": source.featureWidth]
        var perLayout: [String: Any] = [:]
        for layout in layouts {
            guard let m = results[layout.name].map(Measurement.median) else { continue }
            let relative = base.map { m.rowsPerSecond / $0.rowsPerSecond } ?? 1
            let padded = layout.name + String(repeating: " ", count: max(0, 22 - layout.name.count))
            let cpu = m.cpuMicroseconds ?? .nan
            let cpuRelative = base.flatMap(\.cpuMicroseconds).map { cpu / $0 } ?? .nan
            print(padded + String(format: " %8.0f  %9.2f  %10.2f  %13.2f  %9.0f  %7.0f  %10.0f  %11.0f  %11.0f  ", m.rowsPerSecond, relative,
                                  cpu, cpuRelative, m.walBytes, m.tupleBytes, m.heapBytes, m.indexBytes, m.heapBytes + m.indexBytes) + layout.note)
            perLayout[layout.name] = [
                "rows_per_s": m.rowsPerSecond.rounded(), "vs_legacy": (relative * 1000).rounded() / 1000,
                "server_cpu_us_per_row": m.cpuMicroseconds.map { ($0 * 100).rounded() / 100 } ?? -1, "wal_bytes_per_row": m.walBytes.rounded(),
                "tuple_bytes": m.tupleBytes.rounded(), "heap_bytes_per_row": m.heapBytes.rounded(),
                "index_bytes_per_row": m.indexBytes.rounded(),
            ]
        }
        figures["layouts"] = perLayout
        try BenchReport.finish(figures)
    }

    struct Measurement {
        var rowsPerSecond: Double
        /// The server process's CPU time per row (nil when /proc cannot tell: a remote server).
        var cpuMicroseconds: Double?
        /// WAL written per row.
        var walBytes: Double
        var tupleBytes: Double
        var heapBytes: Double
        var indexBytes: Double

        /// Each figure's median over the rounds.
        static func median(_ all: [Measurement]) -> Measurement {
            func m(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            let cpu = all.compactMap(\.cpuMicroseconds)
            return Measurement(rowsPerSecond: m(all.map(\.rowsPerSecond)), cpuMicroseconds: cpu.isEmpty ? nil : m(cpu),
                               walBytes: m(all.map(\.walBytes)), tupleBytes: m(all.map(\.tupleBytes)),
                               heapBytes: m(all.map(\.heapBytes)), indexBytes: m(all.map(\.indexBytes)))
        }
    }

    private func measure(_ layout: AuditRowLayout, _ events: [AuditBatch.DecidedEvent], connection: PostgresConnection,
                         schema: String, day: Date) async throws -> Measurement {
        let s = quoteIdentifier(schema), table = "t_\(layout.name.replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: "+", with: "_"))"
        let t = quoteIdentifier(table)
        for statement in layout.ddl(schema: s, table: table, day: day) { try await connection.execute(PostgresQuery(unsafeSQL: statement)) }
        try await connection.execute("CHECKPOINT")
        let columns = layout.columns
        let names = columns.map(\.name)
        let pid = try await connection.backendPID()
        let walBefore = try await connection.query("SELECT pg_current_wal_insert_lsn()::text").single().decode(0, as: String.self)
        let cpuBefore = BackendCPU.seconds(pid: pid)
        let started = ContinuousClock.now
        for start in stride(from: 0, to: events.count, by: batch) {
            let chunk = events[start..<min(start + batch, events.count)]
            let decidedAt = Date()
            try await connection.transaction { session in
                try session.copy(into: table, schema: schema, columns: names) { writer in
                    for row in chunk {
                        writer.beginRow()
                        for column in columns { try column.encode(&writer, row, decidedAt) }
                        try writer.endRow()
                    }
                }
            }
        }
        let seconds = (ContinuousClock.now - started).seconds
        let cpu = BackendCPU.seconds(pid: pid).flatMap { after in cpuBefore.map { after - $0 } }
        let wal = try await connection.query("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8", [.text(walBefore)])
            .single().decode(0, as: Double.self)
        let sizes = try await connection.query("""
            SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::bigint, coalesce(sum(pg_indexes_size(c.oid)), 0)::bigint
            FROM pg_class c WHERE c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf) OR (c.oid = $1::regclass AND c.relkind = 'r')
            """, [.text("\(s).\(t)")]).single()
        let tuple = try await connection.query("SELECT avg(pg_column_size(x.*))::float8 FROM \(s).\(t) x", []).single().decode(0, as: Double.self)
        try await connection.execute("DROP TABLE \(s).\(t)", [])
        let n = Double(events.count)
        return Measurement(rowsPerSecond: n / seconds, cpuMicroseconds: cpu.map { $0 / n * 1e6 }, walBytes: wal / n, tupleBytes: tuple,
                           heapBytes: Double(try sizes.decode(0, as: Int64.self)) / n, indexBytes: Double(try sizes.decode(1, as: Int64.self)) / n)
    }
}

/// CPU time of a local process from /proc (the benchmark's own PostgreSQL backend).
enum BackendCPU {
    /// utime + stime in seconds, or nil when /proc/<pid>/stat cannot be read.
    static func seconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        return (utime + stime) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
