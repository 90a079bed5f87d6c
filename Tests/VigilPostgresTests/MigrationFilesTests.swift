// Migration files, names and placeholder rendering, without a server.
import Foundation
import Testing
@testable import VigilPostgres

@Suite("Migration files")
struct MigrationFilesTests {
    func temporaryDirectory(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return directory
    }

    @Test("files load in version order; other extensions are ignored")
    func loadsInOrder() throws {
        let directory = try temporaryDirectory(["0010_b.sql": "B", "0002_a.sql": "A", "README.md": "x"])
        defer { try? FileManager.default.removeItem(at: directory) }
        let migrations = try Migration.load(directory: directory)
        #expect(migrations.map(\.version) == [2, 10])
        #expect(migrations.map(\.sql) == ["A", "B"])
    }

    @Test("badly named files, duplicate versions, empty and missing directories are refused")
    func refusals() throws {
        for files in [["1_a.sql": ""], ["0001_a.sql": "", "0001_b.sql": ""], ["abcd_x.sql": ""], ["0000_zero.sql": ""], [:]] {
            let directory = try temporaryDirectory(files)
            defer { try? FileManager.default.removeItem(at: directory) }
            #expect(throws: PostgresError.self, "\(files)") { try Migration.load(directory: directory) }
        }
        #expect(throws: PostgresError.self) { try Migration.load(directory: URL(fileURLWithPath: "/nonexistent/dir")) }
    }

    @Test("targets accept only plain lowercase identifiers, so names can be spliced into DDL")
    func targetValidation() throws {
        _ = try MigrationTarget(schema: "vtest_1a", serviceRole: "svc", analystRole: "an")
        for bad in ["Vigil", "1abc", "a-b", "a\"; DROP", "", String(repeating: "a", count: 64), "ü"] {
            #expect(throws: PostgresError.self, "\(bad)") { try MigrationTarget(schema: bad, serviceRole: "svc", analystRole: "an") }
            #expect(throws: PostgresError.self, "\(bad)") { try MigrationTarget(schema: "s", serviceRole: bad, analystRole: "an") }
        }
        #expect(throws: PostgresError.self) { try MigrationTarget(schema: "s", serviceRole: "same", analystRole: "same") }
    }

    @Test("placeholders become quoted identifiers or string literals")
    func rendering() throws {
        let target = try MigrationTarget(schema: "s1", serviceRole: "svc", analystRole: "an")
        let sql = "CREATE TABLE @schema@.t; SELECT @schema_literal@, @service_role_literal@; GRANT x TO @service_role@, @analyst_role@;"
        #expect(target.render(sql) == "CREATE TABLE \"s1\".t; SELECT 's1', 'svc'; GRANT x TO \"svc\", \"an\";")
    }

    @Test("the shipped migrations leave no placeholder unrendered")
    func shippedMigrationsRender() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let migrations = try Migration.load(directory: root.appendingPathComponent("sql/migrations"))
        #expect(migrations.count >= 4)
        for migration in migrations {
            let rendered = try MigrationTarget(schema: "vigil", serviceRole: "vigil_service", analystRole: "vigil_analyst").render(migration.sql)
            #expect(!rendered.contains("@schema"), "\(migration.name)")
            #expect(!rendered.contains("_role@"), "\(migration.name)")
        }
    }

    @Test("the migrations directory is found from the flag, the environment, or near the executable")
    func locating() throws {
        let root = try temporaryDirectory([:])
        defer { try? FileManager.default.removeItem(at: root) }
        let migrations = root.appendingPathComponent("sql/migrations")
        let binary = root.appendingPathComponent(".build/debug")
        try FileManager.default.createDirectory(at: migrations, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: binary, withIntermediateDirectories: true)
        let fromExecutable = try MigrationDirectory.locate(
            explicit: nil, environment: [:], executablePath: binary.appendingPathComponent("vigil").path, currentDirectory: "/")
        #expect(fromExecutable.standardizedFileURL.path == migrations.standardizedFileURL.path)
        let fromEnvironment = try MigrationDirectory.locate(
            explicit: nil, environment: ["VIGIL_MIGRATIONS": migrations.path], executablePath: "/bin/vigil", currentDirectory: "/")
        #expect(fromEnvironment.path == migrations.path)
        #expect(throws: PostgresError.self) {
            try MigrationDirectory.locate(explicit: "/nonexistent", environment: [:], executablePath: "/bin/vigil", currentDirectory: "/")
        }
    }
}
