// Where `vigil replay --rules` and `vigil rules test` take rules from: a rules JSON file, or
// `db` for the rules and lists stored in <schema>.rules (what serve would load).
import ArgumentParser
import Foundation
import VigilService

enum RulesSource {
    static func load(_ source: String, schema: String, databaseURL: String? = nil) async throws -> RuleFile {
        guard source == "db" else {
            do { return try RuleFile.load(path: source) } catch let error as EngineError {
                throw ValidationError("--rules: \(error.explanation)")
            }
        }
        let store = try store(schema: schema, databaseURL: databaseURL, label: "vigil.replay.rules")
        defer { Task { await store.connection.close() } }
        // Rules that are off are left out: they decide nothing and need not compile against today's lists.
        let rules = try await store.currentRules().map(\.rule).filter { $0.mode != .off }
        return RuleFile(rules: rules, lists: try await store.lists())
    }

    static func store(schema: String, databaseURL: String?, label: String) throws -> RuleStore {
        let environment = ProcessInfo.processInfo.environment
        let configuration = try databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment(environment)
        return RuleStore(connection: PostgresConnection(configuration: configuration, label: label), schema: schema)
    }
}
