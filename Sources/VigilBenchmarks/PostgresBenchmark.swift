// `tools/bench postgres`: 1,000,000 decision rows into vigil.decisions-shaped
// tables through VigilPostgres binary COPY, against `psql \copy` of the same
// rows (from a text file written beforehand) into an identical table, in the
// same run. Both tables come from the real migrations (same indexes, same
// uniqueness trigger), in two private schemas dropped afterwards.
import ArgumentParser
import Foundation
import VigilAudit
import VigilPostgres

struct PostgresBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "COPY decision rows through VigilPostgres and through psql \\copy; report the ratio."
    )

    @Option(help: "Rows per COPY.")
    var rows = 1_000_000

    @Option(help: "Rounds; each copies into fresh tables with the two writers in alternating order. The best round of each counts.")
    var rounds = 2

    @Option(help: "psql executable for the baseline.")
    var psql = "psql"

    /// The sink's decision columns, in its COPY order.
    static let columns = AuditTable.decisions.columns

    func validate() throws {
        guard rows > 0, rounds > 0 else { throw ValidationError("--rows and --rounds must be positive") }
    }

    func run() async throws {
        let url = try BenchReport.environment("VIGIL_DATABASE_URL")
        let configuration = try PostgresConfiguration(url: url)
        let batch = DecisionBatch(count: rows)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString).tsv")
        try batch.writeTextCopyFile(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        print("\(rows) decision rows; psql input file \(fileBytes / 1_000_000) MB")

        let admin = PostgresConnection(configuration: configuration, label: "bench.admin")
        var bestVigil = Double.infinity, bestPsql = Double.infinity
        for round in 1...rounds {
            let tag = "bench_\(UUID().uuidString.prefix(8).lowercased())"
            let targets = try [
                MigrationTarget(schema: "\(tag)_v", serviceRole: "\(tag)_v_svc", analystRole: "\(tag)_v_an"),
                MigrationTarget(schema: "\(tag)_p", serviceRole: "\(tag)_p_svc", analystRole: "\(tag)_p_an"),
            ]
            let migrations = try Migration.load(directory: try MigrationDirectory.locate(
                explicit: nil, environment: ProcessInfo.processInfo.environment,
                executablePath: CommandLine.arguments[0], currentDirectory: FileManager.default.currentDirectoryPath))
            do {
                for target in targets {
                    _ = try await admin.withSession { try MigrationRunner(session: $0, target: target).migrate(migrations) }
                }
                let vigilFirst = round % 2 == 1
                var vigilSeconds = 0.0, psqlSeconds = 0.0
                for step in (vigilFirst ? [0, 1] : [1, 0]) {
                    try await admin.execute("CHECKPOINT")
                    if step == 0 {
                        vigilSeconds = try await copyThroughVigil(batch, configuration, schema: targets[0].schema)
                    } else {
                        psqlSeconds = try copyThroughPsql(file, url: url, schema: targets[1].schema)
                    }
                }
                for target in targets {
                    let count = try await admin.query("SELECT count(*) FROM \(quoteIdentifier(target.schema)).decisions", []).single().decode(0, as: Int.self)
                    guard count == rows else { throw ValidationError("\(target.schema).decisions has \(count) rows, expected \(rows)") }
                }
                print("round \(round): VigilPostgres COPY \(String(format: "%.2f", vigilSeconds)) s (\(BenchReport.rate(Double(rows) / vigilSeconds))), psql \\copy \(String(format: "%.2f", psqlSeconds)) s (\(BenchReport.rate(Double(rows) / psqlSeconds)))")
                bestVigil = min(bestVigil, vigilSeconds)
                bestPsql = min(bestPsql, psqlSeconds)
            } catch {
                await drop(targets, admin)
                throw error
            }
            await drop(targets, admin)
        }
        await admin.close()

        let vigilRate = Double(rows) / bestVigil, psqlRate = Double(rows) / bestPsql
        print("VigilPostgres binary COPY: \(BenchReport.rate(vigilRate)); psql \\copy (text): \(BenchReport.rate(psqlRate)); ratio \(String(format: "%.2f", vigilRate / psqlRate)) (target >= 0.80)")
        try BenchReport.finish([
            "bench": "postgres",
            "rows": rows,
            "rounds": rounds,
            "vigil_rows_per_s": vigilRate.rounded(),
            "baseline_per_s": psqlRate.rounded(),
            "baseline": "psql \\copy (text format) into an identical table",
            "vigil_seconds": (bestVigil * 1000).rounded() / 1000,
            "psql_seconds": (bestPsql * 1000).rounded() / 1000,
            "ratio": ((vigilRate / psqlRate) * 1000).rounded() / 1000,
            "target_ratio": 0.8,
        ])
    }

    /// Timed from connecting to the server's row count, like the psql run.
    private func copyThroughVigil(_ batch: DecisionBatch, _ configuration: PostgresConfiguration, schema: String) async throws -> Double {
        let start = ContinuousClock.now
        let connection = PostgresConnection(configuration: configuration, label: "bench.copy")
        let copied = try await connection.copy(into: "decisions", schema: schema, columns: Self.columns) { writer in
            try batch.write(to: &writer)
        }
        let elapsed = ContinuousClock.now - start
        await connection.close()
        guard copied == batch.count else { throw ValidationError("VigilPostgres copied \(copied) rows") }
        return elapsed.seconds
    }

    private func copyThroughPsql(_ file: URL, url: String, schema: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let command = "\\copy \(quoteIdentifier(schema)).decisions (\(Self.columns.joined(separator: ", "))) FROM '\(file.path)'"
        process.arguments = [psql, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-q", "-d", url, "-c", command]
        let start = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        guard process.terminationStatus == 0 else { throw ValidationError("psql \\copy exited with \(process.terminationStatus)") }
        return elapsed.seconds
    }

    private func drop(_ targets: [MigrationTarget], _ admin: PostgresConnection) async {
        for target in targets {
            _ = try? await admin.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(target.schema)) CASCADE", [])
            _ = try? await admin.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.serviceRole))", [])
            _ = try? await admin.execute("DROP ROLE IF EXISTS \(quoteIdentifier(target.analystRole))", [])
        }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
