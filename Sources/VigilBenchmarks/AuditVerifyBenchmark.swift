// `tools/bench audit-verify`: rows per second of `vigil audit verify` over a chain written by
// the real sink (AuditWriter, signed links, one transaction per 5,000 decisions), next to its
// two bounds measured in the same run: reading the same rows in binary format without hashing
// (PostgreSQL and libpq) and hashing the same bytes in memory (the verifier's own SHA-256).
import ArgumentParser
import Foundation
import VigilAudit
import VigilKafka
import VigilPostgres
import VigilService

struct AuditVerifyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-verify",
        abstract: "Rows/s of vigil audit verify, against reading the same rows and hashing them alone."
    )

    @Option(help: "Decisions in the chain (engine-scored events, repeated with new offsets past the first 200,000).") var rows = 1_000_000
    @Option(help: "Partitions of the topic.") var partitions = 4
    @Option(help: "Decisions per transaction (and link per partition).") var batch = 5_000
    @Option(help: "Verification runs; the median counts.") var runs = 3
    @Option(help: "Connections verifying partitions at once (vigil audit verify --jobs).") var jobs = 2

    func validate() throws {
        guard rows >= 10_000, partitions > 0, batch > 0, runs > 0 else { throw ValidationError("rows >= 10000, partitions, batch and runs > 0") }
    }

    func run() async throws {
        let loadAtStart = BenchReport.loadAverage()
        let url = try BenchReport.environment("VIGIL_DATABASE_URL")
        let id = UUID().uuidString.prefix(8).lowercased()
        let target = try MigrationTarget(schema: "bench_verify_\(id)", serviceRole: "bench_verify_\(id)_svc", analystRole: "bench_verify_\(id)_an")
        let connection = PostgresConnection(configuration: try PostgresConfiguration(url: url), label: "bench.audit-verify")
        let migrations = try Migration.load(directory: try MigrationDirectory.locate(
            explicit: nil, environment: ProcessInfo.processInfo.environment, executablePath: CommandLine.arguments[0],
            currentDirectory: FileManager.default.currentDirectoryPath))
        _ = try await connection.withSession { try MigrationRunner(session: $0, target: target).migrate(migrations) }
        defer { Task { await connection.close() } }
        do {
            try await measure(connection: connection, target: target, loadAtStart: loadAtStart)
        } catch {
            await drop(target, connection)
            throw error
        }
        await drop(target, connection)
    }

    private func measure(connection: PostgresConnection, target: MigrationTarget, loadAtStart: String) async throws {
        let topic = "transactions"
        let source = try DecidedRows.make(count: min(rows, 200_000), warmUpEvents: 60_000, partitions: partitions, topic: topic)
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-verify.key").path
        try? FileManager.default.removeItem(atPath: keyFile)
        guard FileManager.default.createFile(atPath: keyFile, contents: Data(LinkSigner.generate(.ed25519).secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(keyFile)")
        }
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        var audit = AuditConfiguration()
        audit.signingKeyFile = keyFile
        let writer = try AuditWriter(connection: connection, schema: target.schema, groupID: "bench", memberName: "bench", audit: audit)
        // The sink's own batches: per partition in offset order, one offset advance each.
        var next = [Int64?](repeating: nil, count: partitions)
        var offsets = [Int64](repeating: 0, count: partitions)
        var written = 0
        let writeStarted = ContinuousClock.now
        while written < rows {
            var batchRows = AuditBatch()
            var byPartition = [[AuditBatch.DecidedEvent]](repeating: [], count: partitions)
            for k in 0..<min(batch, rows - written) {
                var event = source.events[(written + k) % source.events.count]
                let p = Int(event.partition.partition)
                event.offset = offsets[p]
                offsets[p] += 1
                if written + k >= source.events.count { event.decision.eventID += "-\((written + k) / source.events.count)" }
                byPartition[p].append(event)
            }
            for p in 0..<partitions where !byPartition[p].isEmpty {
                batchRows.decisions += byPartition[p]
                let partition = KafkaTopicPartition(topic: topic, partition: Int32(p))
                batchRows.offsets.append(AuditBatch.OffsetAdvance(partition: partition, expected: next[p], next: offsets[p]))
                next[p] = offsets[p]
            }
            try await writer.write(batchRows)
            written += batchRows.decisions.count
        }
        let writeSeconds = (ContinuousClock.now - writeStarted).seconds
        let s = quoteIdentifier(target.schema)
        try await connection.execute("ANALYZE \(s).decisions", [])
        try await connection.execute("ANALYZE \(s).audit_chain", [])
        let alerts = try await connection.query("SELECT count(*) FROM \(s).alerts", []).single().decode(0, as: Int64.self)
        print("chain: \(written) decisions, \(alerts) alerts on \(partitions) partitions, written by the sink in \(String(format: "%.1f", writeSeconds)) s (\(BenchReport.rate(Double(written) / writeSeconds)) decisions)")

        let key = try LinkVerificationKey(keyFile: keyFile)
        var verifySeconds: [Double] = [], singleSeconds: [Double] = [], readSeconds: [Double] = [], hashSeconds: [Double] = []
        var report = VerifyReport()
        let schema = target.schema
        for run in 1...runs {
            let configuration = try PostgresConfiguration(url: try BenchReport.environment("VIGIL_DATABASE_URL"))
            let connections = (0..<jobs).map { _ in PostgresConnection(configuration: configuration, label: "bench.verify") }
            report = try await AuditVerifier.verify(using: connections, schema: schema, VerifyRequest(keys: [key]))
            for c in connections { await c.close() }
            // One connection, for the rate per database process.
            let single = try await connection.withSession { session in
                try AuditVerifier(session: session, schema: schema).verify(VerifyRequest(keys: [key]))
            }
            singleSeconds.append(single.seconds)
            guard report.isIntact, report.rowsCovered == Int64(written) + alerts else {
                throw ValidationError("verify: intact \(report.isIntact), \(report.rowsCovered) rows of \(Int64(written) + alerts)")
            }
            verifySeconds.append(report.seconds)
            // The same rows read the same way, without hashing them.
            let ends = offsets
            let (read, bytes) = try await connection.withSession { session -> (Double, [[UInt8]]) in
                let started = ContinuousClock.now
                var sample: [[UInt8]] = []
                for table in [AuditTable.decisions, .alerts] {
                    for p in 0..<Int32(partitions) {
                        var from: Int64 = 0
                        while true {
                            let n = try session.forEachBinaryRow(PostgresQuery(unsafeSQL: """
                                SELECT \(table.columns.joined(separator: ", ")) FROM \(s).\(table.viewName)
                                WHERE topic = $1 AND kafka_partition = $2 AND kafka_offset >= $3 AND kafka_offset < $4 ORDER BY kafka_offset
                                """, binds: [.text(topic), .int32(p), .int64(from), .int64(from + 100_000)])) { row in
                                if sample.count < 200_000, table == .decisions { sample.append(Array(row.fields(0..<row.columnCount))) }
                            }
                            from += 100_000
                            if n == 0 && from > ends[Int(p)] { break }
                        }
                    }
                }
                return ((ContinuousClock.now - started).seconds, sample)
            }
            readSeconds.append(read)
            // Hashing alone, scaled to the same row count.
            let hashStarted = ContinuousClock.now
            var sink: UInt8 = 0
            for row in bytes { sink ^= Array(LinkBuilder.digest(row[...]))[0] }
            hashSeconds.append((ContinuousClock.now - hashStarted).seconds * Double(report.rowsCovered) / Double(bytes.count))
            if sink == 0xFF { print("") }
            print("run \(run): verify \(String(format: "%.2f", report.seconds)) s (\(jobs) connections), \(String(format: "%.2f", singleSeconds.last!)) s (one), read only \(String(format: "%.2f", read)) s, hash only \(String(format: "%.2f", hashSeconds.last!)) s")
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let n = Double(report.rowsCovered)
        let verifyRate = n / median(verifySeconds), readRate = n / median(readSeconds), hashRate = n / median(hashSeconds)
        let singleRate = n / median(singleSeconds)
        print("""
            vigil audit verify: \(report.rowsCovered) rows (\(written) decisions, \(alerts) alerts), \(report.linksChecked) signed links: \
            \(BenchReport.rate(verifyRate)) rows with \(jobs) connections, \(BenchReport.rate(singleRate)) rows with one (medians of \(runs))
            limit: reading the same rows in binary format alone, one connection: \(BenchReport.rate(readRate)) rows; SHA-256 of their bytes alone \(BenchReport.rate(hashRate)) rows; \
            verify on one connection at \(String(format: "%.2f", singleRate / readRate)) of the read rate
            a day of decisions at 1,000 / 10,000 / 100,000 events/s verifies in \(minutes(86_400_000, verifyRate)) / \(minutes(864_000_000, verifyRate)) / \(minutes(8_640_000_000, verifyRate)) minutes
            load average at start: \(loadAtStart); at end: \(BenchReport.loadAverage())
            """)
        var figures: [String: Any] = ["bench": "audit-verify", "rows": report.rowsCovered, "decisions": written, "alerts": alerts]
        figures["links"] = report.linksChecked
        figures["partitions"] = partitions
        figures["runs"] = runs
        figures["verify_rows_per_s"] = verifyRate.rounded()
        figures["read_rows_per_s"] = readRate.rounded()
        figures["hash_rows_per_s"] = hashRate.rounded()
        figures["ratio_to_read"] = (singleRate / readRate * 1000).rounded() / 1000
        figures["verify_one_connection_rows_per_s"] = singleRate.rounded()
        figures["jobs"] = jobs
        figures["minutes_per_day_at_10k_per_s"] = (864_000_000 / verifyRate / 60 * 10).rounded() / 10
        figures["sink_write_decisions_per_s"] = (Double(written) / writeSeconds).rounded()
        figures["load_average_start"] = loadAtStart
        figures["load_average_end"] = BenchReport.loadAverage()
        try BenchReport.finish(figures)
    }

    private func minutes(_ rows: Double, _ rate: Double) -> String { String(format: "%.1f", rows / rate / 60) }

    private func drop(_ target: MigrationTarget, _ connection: PostgresConnection) async {
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(target.schema)) CASCADE", [])
        _ = try? await connection.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.serviceRole))", [])
        _ = try? await connection.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.analystRole))", [])
    }
}
