// Shared setup for the PostgreSQL integration tests: the local stack's
// connection settings, and private schemas (and roles) per test so tests run
// concurrently without sharing state.
import Foundation
import VigilPostgres

enum PostgresTestDatabase {
    static func configuration() throws -> PostgresConfiguration {
        StackEnvironment.exportDatabasePassword()
        var configuration = try PostgresConfiguration(url: try StackEnvironment.require("VIGIL_DATABASE_URL"))
        configuration.reconnect.initialBackoff = .milliseconds(50)
        return configuration
    }

    static func session() throws -> PostgresSession {
        let session = PostgresSession(configuration: try configuration())
        try session.connect()
        return session
    }

    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// The repository's sql/ folder.
    static let sqlDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("sql")

    static func migrations() throws -> [Migration] {
        try Migration.load(directory: sqlDirectory.appendingPathComponent("migrations"))
    }

    /// A fresh schema with no tables, dropped afterwards.
    static func withScratchSchema<T>(_ body: (PostgresSession, String) throws -> T) throws -> T {
        let session = try session()
        let schema = uniqueName("pgtest")
        try session.execute("CREATE SCHEMA \(quoteIdentifier(schema))", [])
        defer { _ = try? session.execute("DROP SCHEMA \(quoteIdentifier(schema)) CASCADE", []) }
        return try body(session, schema)
    }

    /// A private, fully migrated Vigil schema with private roles, all dropped afterwards.
    static func withMigratedSchema<T>(_ body: (PostgresSession, MigrationTarget) throws -> T) throws -> T {
        let session = try session()
        let target = try newTarget()
        defer { drop(target, using: session) }
        _ = try MigrationRunner(session: session, target: target).migrate(try migrations())
        return try body(session, target)
    }

    static func newTarget() throws -> MigrationTarget {
        let schema = uniqueName("vtest")
        return try MigrationTarget(schema: schema, serviceRole: "\(schema)_svc", analystRole: "\(schema)_an")
    }

    static func drop(_ target: MigrationTarget, using session: PostgresSession) {
        _ = try? session.execute("RESET ROLE")
        _ = try? session.execute("DROP SCHEMA IF EXISTS \(quoteIdentifier(target.schema)) CASCADE", [])
        for role in [target.serviceRole, target.analystRole] {
            _ = try? session.execute("DROP ROLE IF EXISTS \(quoteIdentifier(role))", [])
        }
    }

    /// Runs `body` as `role` (SET ROLE) and switches back afterwards.
    static func asRole<T>(_ role: String, _ session: PostgresSession, _ body: () throws -> T) throws -> T {
        try session.execute("SET ROLE \(quoteIdentifier(role))", [])
        defer { _ = try? session.execute("RESET ROLE") }
        return try body()
    }
}
