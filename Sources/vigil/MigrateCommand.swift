// `vigil migrate`: applies the schema migrations in sql/migrations. The logic
// lives in VigilPostgres (MigrationRunner); this only parses options and reports.
import ArgumentParser
import Foundation
import VigilService

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (idempotent, safe to run concurrently).",
        discussion: """
            Each pending sql/migrations/NNNN_*.sql file is applied in its own transaction under an advisory lock and recorded with its SHA-256. Refuses to run when an applied file was changed.

            The password comes from PGPASSFILE / ~/.pgpass or PGPASSWORD, never from the command line.

            Exit codes: 0 done, 65 refused (changed or unknown migrations), 69 database unreachable, 1 other errors.
            """
    )

    @Option(help: "PostgreSQL URL or libpq keywords, without password. Default: $VIGIL_DATABASE_URL, else libpq's PG* variables.")
    var databaseURL: String?

    @Option(help: "Directory of NNNN_*.sql files. Default: $VIGIL_MIGRATIONS, else sql/migrations near the executable or here.")
    var migrations: String?

    @Option(help: "Schema to migrate.")
    var schema = "vigil"

    @Option(help: "Role the service runs as (created if missing).")
    var serviceRole = "vigil_service"

    @Option(help: "Role analysts get (created if missing).")
    var analystRole = "vigil_analyst"

    func validate() throws {
        if let databaseURL, let configuration = try? PostgresConfiguration(url: databaseURL),
           configuration.keywords["password"] != nil {
            throw ValidationError("--database-url must not contain a password (it would show in process lists); use PGPASSFILE or PGPASSWORD")
        }
        do {
            _ = try MigrationTarget(schema: schema, serviceRole: serviceRole, analystRole: analystRole)
        } catch let error as PostgresError {
            throw ValidationError(error.reason)
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        do {
            let configuration = try databaseURL.map(PostgresConfiguration.init(url:))
                ?? PostgresConfiguration.fromEnvironment(environment)
            let target = try MigrationTarget(schema: schema, serviceRole: serviceRole, analystRole: analystRole)
            let directory = try MigrationDirectory.locate(
                explicit: migrations, environment: environment,
                executablePath: CommandLine.arguments[0], currentDirectory: FileManager.default.currentDirectoryPath)
            let files = try Migration.load(directory: directory)
            print("migrating schema \(target.schema) on \(configuration) with \(files.count) files from \(directory.path)")
            let connection = PostgresConnection(configuration: configuration, label: "vigil.migrate")
            let report = try await connection.withSession { session in
                try MigrationRunner(session: session, target: target).migrate(files)
            }
            await connection.close()
            for applied in report.applied {
                let milliseconds = Int((Double(applied.duration.components.attoseconds) / 1e15 + Double(applied.duration.components.seconds) * 1000).rounded())
                print("applied \(applied.name) (\(milliseconds) ms, sha256 \(applied.checksum.prefix(12)))")
            }
            print("schema \(target.schema): \(report.applied.count) applied now, \(report.alreadyApplied.count) already applied")
        } catch let error as PostgresError {
            var message = "vigil migrate: \(error.reason)"
            if let server = error.serverInfo?.message { message += " (server: \(server))" }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            switch error.code {
            case .migration: throw ExitCode(65)
            case .connectionFailed, .connectionLost: throw ExitCode(69)
            default: throw ExitCode(1)
            }
        }
    }
}
