// Finding the sql/migrations folder at run time. The files are deliberately not
// embedded as SwiftPM resources: operators and reviewers read and diff them as
// plain files, packagers install them next to the binary, and the checksum
// check protects against them drifting.
import Foundation

public enum MigrationDirectory {
    /// The first that exists of: `explicit` (`--migrations`), `VIGIL_MIGRATIONS`,
    /// `sql/migrations` in the current directory, then `sql/migrations` or
    /// `share/vigil/sql/migrations` in the executable's directory and each of its
    /// parents (a checkout running .build/debug/vigil, or an installed prefix).
    public static func locate(
        explicit: String?, environment: [String: String], executablePath: String, currentDirectory: String
    ) throws -> URL {
        if let explicit {
            return try existing(URL(fileURLWithPath: explicit), from: "--migrations")
        }
        if let fromEnvironment = environment["VIGIL_MIGRATIONS"], !fromEnvironment.isEmpty {
            return try existing(URL(fileURLWithPath: fromEnvironment), from: "VIGIL_MIGRATIONS")
        }
        var candidates = [URL(fileURLWithPath: currentDirectory).appendingPathComponent("sql/migrations")]
        var directory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" && !directory.path.isEmpty {
            candidates.append(directory.appendingPathComponent("sql/migrations"))
            candidates.append(directory.appendingPathComponent("share/vigil/sql/migrations"))
            directory.deleteLastPathComponent()
        }
        if let found = candidates.first(where: isDirectory) { return found }
        throw PostgresError(.migration, reason: "no sql/migrations directory found near the executable or the current directory; pass --migrations DIR or set VIGIL_MIGRATIONS")
    }

    private static func existing(_ url: URL, from source: String) throws -> URL {
        guard isDirectory(url) else {
            throw PostgresError(.migration, reason: "\(source): \(url.path) is not a directory")
        }
        return url
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
