// Applies pending migrations: under a per-schema advisory lock, each file in its
// own transaction together with its bookkeeping row, after checking that every
// already-applied file is still byte-identical (SHA-256 recorded at apply time).
import Foundation

/// What one `migrate` call did.
public struct MigrationReport: Sendable, Hashable {
    public struct Applied: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var checksum: String
        public var duration: Duration
    }
    /// Migrations this call applied, in order.
    public var applied: [Applied]
    /// Migrations that were already applied before this call.
    public var alreadyApplied: [String]
}

/// Applies migration files to one target schema.
public struct MigrationRunner {
    public let session: PostgresSession
    public let target: MigrationTarget

    public init(session: PostgresSession, target: MigrationTarget) {
        self.session = session
        self.target = target
    }

    /// Brings the schema up to date with `migrations`. Safe to run concurrently
    /// with itself (the second run waits for the lock, then finds nothing to do)
    /// and idempotent. Throws `.migration` without applying anything when an
    /// applied file changed, vanished, or was renamed.
    public func migrate(_ migrations: [Migration]) throws -> MigrationReport {
        let lockKey = "vigil migrate \(target.schema)"
        try session.query("SELECT pg_advisory_lock(hashtextextended(\(lockKey), 0))")
        defer { _ = try? session.query("SELECT pg_advisory_unlock(hashtextextended(\(lockKey), 0))") }

        let table = "\(quoteIdentifier(target.schema)).schema_migrations"
        try session.executeScript("""
            CREATE SCHEMA IF NOT EXISTS \(quoteIdentifier(target.schema));
            CREATE TABLE IF NOT EXISTS \(table) (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                checksum   text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                applied_by text        NOT NULL DEFAULT current_user
            );
            """)
        let applied = try session.query("SELECT version, name, checksum FROM \(PostgresIdentifier(target.schema)).schema_migrations ORDER BY version")
        var appliedByVersion: [Int: (name: String, checksum: String)] = [:]
        for row in applied {
            appliedByVersion[try row.decode(0, as: Int.self)] = (try row.decode(1), try row.decode(2))
        }

        let checksums = try migrations.map { try checksum(of: $0) }
        let known = Set(migrations.map(\.version))
        if let unknown = appliedByVersion.keys.sorted().first(where: { !known.contains($0) }) {
            throw PostgresError(.migration, reason: "the database has migration \(appliedByVersion[unknown]!.name) which is not among the files: refusing (newer schema or wrong directory?)")
        }
        var changed: [String] = []
        for (migration, sum) in zip(migrations, checksums) {
            guard let record = appliedByVersion[migration.version] else { continue }
            if record.name != migration.name || record.checksum != sum {
                changed.append(migration.name)
            }
        }
        guard changed.isEmpty else {
            throw PostgresError(.migration, reason: "applied migration files were changed since they were applied: \(changed.joined(separator: ", ")); restore them and add a new migration instead")
        }

        var report = MigrationReport(applied: [], alreadyApplied: [])
        let clock = ContinuousClock()
        for (migration, sum) in zip(migrations, checksums) {
            if appliedByVersion[migration.version] != nil {
                report.alreadyApplied.append(migration.name)
                continue
            }
            let start = clock.now
            do {
                try session.transaction { session in
                    try session.executeScript(target.render(migration.sql))
                    try session.execute("""
                        INSERT INTO \(PostgresIdentifier(target.schema)).schema_migrations (version, name, checksum)
                        VALUES (\(Int32(migration.version)), \(migration.name), \(sum))
                        """)
                }
            } catch var error as PostgresError {
                error.reason = "\(migration.name): \(error.reason)"
                throw error
            }
            report.applied.append(.init(version: migration.version, name: migration.name, checksum: sum, duration: clock.now - start))
        }
        return report
    }

    /// Hex SHA-256 of the file text as stored (before placeholders are replaced),
    /// computed by the server so no crypto dependency is needed here.
    private func checksum(of migration: Migration) throws -> String {
        try session.query("SELECT encode(sha256(\(Array(migration.sql.utf8))), 'hex') AS sum").single().decode("sum")
    }
}
