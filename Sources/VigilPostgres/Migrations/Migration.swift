// One migration file, and reading the ordered set of them from a directory.
import Foundation

/// A migration file `NNNN_description.sql`: applied in version order, once.
public struct Migration: Sendable, Hashable {
    public let version: Int
    /// The file name, recorded with the checksum.
    public let name: String
    /// The file's text, placeholders not yet replaced (the checksum covers this).
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Parses `0007_add_things.sql` into its version; nil for names of another shape.
    static func version(ofFileName name: String) -> Int? {
        guard name.hasSuffix(".sql"), let underscore = name.firstIndex(of: "_") else { return nil }
        let digits = name[..<underscore]
        guard digits.count == 4, digits.allSatisfy(\.isASCII), let version = Int(digits), version > 0 else { return nil }
        return version
    }

    /// Loads every `*.sql` file of the directory, sorted by version. Refuses
    /// `.sql` files that are not named `NNNN_*.sql`, duplicate versions, and an
    /// empty directory, since each usually means a packaging mistake.
    public static func load(directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PostgresError(.migration, reason: "cannot read the migrations directory \(directory.path)")
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            guard let version = version(ofFileName: name) else {
                throw PostgresError(.migration, reason: "\(name): migration files must be named NNNN_description.sql")
            }
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
                  let sql = String(data: data, encoding: .utf8) else {
                throw PostgresError(.migration, reason: "\(name): unreadable or not UTF-8")
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw PostgresError(.migration, reason: "\(a.name) and \(b.name) have the same version")
        }
        guard !migrations.isEmpty else {
            throw PostgresError(.migration, reason: "no NNNN_*.sql files in \(directory.path)")
        }
        return migrations
    }
}
