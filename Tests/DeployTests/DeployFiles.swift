// Where the deploy/ files are and how the tests read them: YAML through Yams, JSON through
// Foundation, and small helpers to walk the parsed trees and run the tools that check them.
import Foundation
import Yams

enum DeployFiles {
    /// The repository root (this file is Tests/DeployTests/DeployFiles.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let deploy = root.appendingPathComponent("deploy")

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func text(_ path: String) throws -> String { try String(contentsOf: url(path), encoding: .utf8) }

    /// Every file under deploy/ whose name ends in one of `extensions`, as paths from the root.
    static func files(withExtensions extensions: Set<String>) -> [String] {
        guard let walker = FileManager.default.enumerator(at: deploy, includingPropertiesForKeys: nil) else { return [] }
        var paths: [String] = []
        for case let file as URL in walker where extensions.contains(file.pathExtension) {
            paths.append(String(file.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)))
        }
        return paths.sorted()
    }

    /// All YAML documents of a file (`---` separated), as Foundation-like trees.
    static func yamlDocuments(_ path: String) throws -> [Any] {
        try yamlDocuments(text: try text(path), name: path)
    }

    static func yamlDocuments(text: String, name path: String) throws -> [Any] {
        // Yams keeps a parse error in the sequence instead of throwing it from next().
        var sequence = try Yams.load_all(yaml: text)
        var documents: [Any] = []
        while let document = sequence.next() { documents.append(plain(document)) }
        if let error = sequence.error { throw DeployFileError("\(path): \(error)") }
        return documents
    }

    /// Mappings with string keys all the way down, so tests can cast to [String: Any].
    static func plain(_ value: Any) -> Any {
        if let mapping = value as? [AnyHashable: Any] {
            var result: [String: Any] = [:]
            for (key, element) in mapping { result["\(key.base)"] = plain(element) }
            return result
        }
        if let list = value as? [Any] { return list.map(plain) }
        return value
    }

    /// A file holding exactly one YAML document, as a mapping.
    static func yamlMapping(_ path: String) throws -> [String: Any] {
        let documents = try yamlDocuments(path)
        guard documents.count == 1, let mapping = documents[0] as? [String: Any] else {
            throw DeployFileError("\(path): expected one YAML mapping, found \(documents.count) documents")
        }
        return mapping
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: try Data(contentsOf: url(path)))
    }

    /// Every Kubernetes object in deploy/k8s, with the file it came from.
    static func kubernetesObjects() throws -> [(file: String, object: [String: Any])] {
        var objects: [(String, [String: Any])] = []
        for file in files(withExtensions: ["yaml", "yml"]) where file.hasPrefix("deploy/k8s/") {
            for case let object as [String: Any] in try yamlDocuments(file) where object["kind"] as? String != "Kustomization" {
                objects.append((file, object))
            }
        }
        return objects
    }

    static func kubernetesObject(kind: String, name: String) throws -> [String: Any] {
        guard let found = try kubernetesObjects().first(where: { $0.object["kind"] as? String == kind && $0.object[path: "metadata.name"] as? String == name }) else {
            throw DeployFileError("deploy/k8s has no \(kind) named \(name)")
        }
        return found.object
    }

    /// The names of the VIGIL_* variables docs/serve.md documents for `vigil serve`.
    static func documentedEnvironmentVariables() throws -> Set<String> {
        let text = try self.text("docs/serve.md")
        let regex = try NSRegularExpression(pattern: "VIGIL_[A-Z_]+")
        let range = NSRange(text.startIndex..., in: text)
        return Set(regex.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } })
    }

    /// Runs a program and returns its exit status and combined output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The first executable named `name` on PATH (or at an absolute path given by `override`).
    static func tool(_ name: String, override variable: String? = nil) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let variable, let path = environment[variable], FileManager.default.isExecutableFile(atPath: path) { return path }
        for folder in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

struct DeployFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Dictionary where Key == String, Value == Any {
    /// The value at a dotted path of mapping keys ("spec.template.spec"), if every step is a mapping.
    subscript(path path: String) -> Any? {
        var current: Any? = self
        for key in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(key)]
        }
        return current
    }
}
