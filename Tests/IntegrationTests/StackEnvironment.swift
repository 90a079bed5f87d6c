// Where the integration tests find the local stack: VIGIL_... variables from
// tools/test, or else the .vigil/env file that `tools/stack up` writes.
import Foundation

enum StackEnvironment {
    static func value(_ name: String) -> String? {
        if let value = ProcessInfo.processInfo.environment[name], !value.isEmpty { return value }
        return fileValues[name]
    }

    static func require(_ name: String) throws -> String {
        guard let value = value(name) else { throw StackUnavailable(variable: name) }
        return value
    }

    /// Applies PGPASSFILE from the env file to this process, so libpq finds the password.
    static func exportDatabasePassword() {
        if ProcessInfo.processInfo.environment["PGPASSFILE"] == nil, let file = fileValues["PGPASSFILE"] {
            setenv("PGPASSFILE", file, 1)
        }
    }

    private static let fileValues: [String: String] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard let text = try? String(contentsOf: root.appendingPathComponent(".vigil/env"), encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }()
}

struct StackUnavailable: Error, CustomStringConvertible {
    let variable: String
    var description: String { "\(variable) is not set and .vigil/env has no value: start the local stack with tools/stack up (tools/test does)" }
}
