// deploy/systemd/vigil.service: `systemd-analyze verify` accepts it (with ExecStart pointing
// at a real executable), `systemd-analyze security` rates it well, the hardening the issue
// names is there, and its environment file sets only documented variables and no secret.
import Foundation
import Testing

@Suite struct SystemdUnitTests {
    static let analyze = DeployFiles.tool("systemd-analyze")

    /// The unit's `Key=value` lines of one section.
    static func settings(_ section: String) throws -> [(key: String, value: String)] {
        var current = ""
        var result: [(String, String)] = []
        for raw in try DeployFiles.text("deploy/systemd/vigil.service").split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") { current = String(line.dropFirst().dropLast()); continue }
            guard current == section, let equals = line.firstIndex(of: "=") else { continue }
            result.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
        return result
    }

    /// The unit copied to a temporary folder with ExecStart on an executable that exists here
    /// (the built `vigil` when found; verify checks the path, not what the program does).
    static func unitCopy() throws -> (unit: URL, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let binary = ["release", "debug"].map { DeployFiles.url(".build/\($0)/vigil").path }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/bin/true"
        let text = try DeployFiles.text("deploy/systemd/vigil.service").replacingOccurrences(of: "/usr/local/bin/vigil", with: binary)
        let unit = folder.appendingPathComponent("vigil.service")
        try text.write(to: unit, atomically: true, encoding: .utf8)
        return (unit, folder)
    }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is not installed"))
    func verifyAcceptsTheUnit() throws {
        let copy = try Self.unitCopy()
        defer { try? FileManager.default.removeItem(at: copy.folder) }
        let result = try DeployFiles.run(Self.analyze!, ["verify", copy.unit.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("vigil.service"), "verify reported: \(result.output)")
    }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is not installed"))
    func verifyRejectsABrokenUnit() throws {
        // So the test above can fail: a wrong ExecStart is reported.
        let copy = try Self.unitCopy()
        defer { try? FileManager.default.removeItem(at: copy.folder) }
        let text = try String(contentsOf: copy.unit, encoding: .utf8)
            .replacingOccurrences(of: #"ExecStart=[^\n]*"#, with: "ExecStart=/nonexistent/vigil serve", options: .regularExpression)
        try text.write(to: copy.unit, atomically: true, encoding: .utf8)
        #expect(try DeployFiles.run(Self.analyze!, ["verify", copy.unit.path]).status != 0)
    }

    @Test(.enabled(if: analyze != nil, "systemd-analyze is not installed"))
    func securityExposureIsLow() throws {
        let copy = try Self.unitCopy()
        defer { try? FileManager.default.removeItem(at: copy.folder) }
        let result = try DeployFiles.run(Self.analyze!, ["security", "--offline=yes", "--no-pager", copy.unit.path])
        // "→ Overall exposure level for vigil.service: 1.3 OK"; 0 is best, 10 worst.
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(result.output)")
        let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 2.0, "\(line)")
    }

    @Test func unitIsHardenedAndReadsAnEnvironmentFile() throws {
        let service = try Self.settings("Service")
        func value(_ key: String) -> String? { service.last { $0.key == key }?.value }
        #expect(value("DynamicUser") == "yes" || (value("User") != nil && value("User") != "root"))
        #expect(value("ProtectSystem") == "strict")
        #expect(value("NoNewPrivileges") == "yes")
        #expect(value("PrivateTmp") == "yes" && value("ProtectHome") == "yes")
        #expect(value("CapabilityBoundingSet") == "")
        #expect(value("EnvironmentFile") == "/etc/vigil/vigil.env")
        #expect(value("ExecStart") == "/usr/local/bin/vigil serve")
        // Exit code 64 means bad settings: restarting cannot help.
        #expect(value("RestartPreventExitStatus") == "64")
        #expect(service.allSatisfy { !$0.value.lowercased().contains("password=") })
    }

    @Test func environmentFileSetsDocumentedVariablesOnly() throws {
        let documented = try DeployFiles.documentedEnvironmentVariables()
        var names: [String] = []
        for raw in try DeployFiles.text("deploy/systemd/vigil.env").split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let name = try #require(line.split(separator: "=", maxSplits: 1).first.map(String.init))
            names.append(name)
            #expect(documented.contains(name), "\(name) is not a documented variable")
            #expect(!KubernetesManifestTests.looksLikeCredentials(line), "\(line)")
        }
        #expect(names.contains("VIGIL_KAFKA_BROKERS") && names.contains("VIGIL_DATABASE_URL"))
    }
}
