// The persistent side of analysts' rules: `vigil.rules` (a row per version) and the rule
// lists, read by serve, replay and `vigil rules`, and changed only through the SECURITY
// DEFINER functions of migration 0011, which record who changed what and notify
// "<schema>_rules". Every statement on these tables lives here.
import Foundation
import VigilEngine
import VigilPostgres

public struct RuleStore: Sendable {
    public let connection: PostgresConnection
    public let schema: String

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
    }

    /// The LISTEN/NOTIFY channel the change functions notify.
    public var channel: String { schema + "_rules" }

    /// One stored version of a rule, with who saved it and when.
    public struct StoredRule: Sendable, Equatable {
        public var rule: Rule
        public var description: String?
        public var author: String
        public var createdAt: Date
    }

    /// The newest version of every rule (those `off` included), by name.
    public func currentRules() async throws -> [StoredRule] {
        let s = quoteIdentifier(schema)
        return try await rows("""
            SELECT name, version, expression, outcome, mode, description, author, created_at FROM \(s).current_rules ORDER BY name
            """, [])
    }

    /// Every version of one rule (or of all), oldest first.
    public func history(of name: String?) async throws -> [StoredRule] {
        let s = quoteIdentifier(schema)
        if let name {
            return try await rows("""
                SELECT name, version, expression, outcome, mode, description, author, created_at
                FROM \(s).rule_versions WHERE name = $1 ORDER BY version
                """, [.text(name)])
        }
        return try await rows("""
            SELECT name, version, expression, outcome, mode, description, author, created_at FROM \(s).rule_versions ORDER BY name, version
            """, [])
    }

    private func rows(_ sql: String, _ parameters: [PostgresValue]) async throws -> [StoredRule] {
        try await connection.query(sql, parameters).map { row in
            let outcome = try row.decode("outcome", as: String.self), mode = try row.decode("mode", as: String.self)
            guard let o = DecisionOutcome(rawValue: outcome), let m = RuleMode(rawValue: mode) else {
                throw ServiceError(.invalidConfiguration, "a stored rule has outcome \(outcome) and mode \(mode)")
            }
            return StoredRule(rule: Rule(name: try row.decode("name"), expression: try row.decode("expression"), outcome: o, mode: m,
                                         version: Int64(try row.decode("version", as: Int32.self))),
                              description: try row.decode("description"), author: try row.decode("author"),
                              createdAt: try row.decode("created_at"))
        }
    }

    /// Every list with its values.
    public func lists() async throws -> RuleLists {
        let s = quoteIdentifier(schema)
        var lists: [String: Set<String>] = [:]
        for row in try await connection.query("SELECT list_name, value FROM \(s).rule_list_entries", []) {
            let name = try row.decode(0, as: String.self)
            if let value = try row.decode(1, as: String?.self) { lists[name, default: []].insert(value) } else { lists[name, default: []] = lists[name] ?? [] }
        }
        return RuleLists(lists)
    }

    /// The stored rules in force (enforce or shadow) and the lists, compiled on top of
    /// `policy`'s configuration-file rules. Throws `RuleError` for a rule that does not compile
    /// (the whole set is refused). Rules that are off are left out: they decide nothing, and
    /// one naming a list deleted since must not hold up the others.
    public func ruleSet(policy: DecisionPolicy, vocabulary: RuleVocabulary) async throws -> RuleSet {
        let rules = try await currentRules().map(\.rule).filter { $0.mode != .off }
        return try policy.ruleSet(adding: rules, lists: try await lists(), vocabulary: vocabulary)
    }

    // MARK: Changes (through the functions of migration 0011)

    /// Saves a new version of `rule` (its `version` is ignored) and returns the version number.
    @discardableResult
    public func save(_ rule: Rule, description: String? = nil) async throws -> Int64 {
        let s = quoteIdentifier(schema)
        let row = try await connection.query("SELECT \(s).save_rule($1, $2, $3, $4, $5)", [
            .text(rule.name), .text(rule.expression), .text(rule.outcome.rawValue), .text(rule.mode.rawValue),
            description.map { .text($0) } ?? .null,
        ]).single()
        return Int64(try row.decode(0, as: Int32.self))
    }

    /// Enforces, shadows or switches off a rule (a new version); returns the version number.
    @discardableResult
    public func setMode(_ name: String, _ mode: RuleMode) async throws -> Int64 {
        let s = quoteIdentifier(schema)
        let row = try await connection.query("SELECT \(s).set_rule_mode($1, $2)", [.text(name), .text(mode.rawValue)]).single()
        return Int64(try row.decode(0, as: Int32.self))
    }

    /// Adds values to a list (created when missing); returns how many were new.
    @discardableResult
    public func add(_ values: [String], toList name: String, note: String? = nil) async throws -> Int {
        let s = quoteIdentifier(schema)
        let sql = "SELECT \(s).add_to_rule_list($1, ARRAY[$2::text], $3)"
        return try await connection.transaction { session in
            if values.isEmpty { _ = try session.query("SELECT \(s).create_rule_list($1)", [.text(name)]) }
            var added = 0
            for value in values {
                added += try session.query(sql, [.text(name), .text(value), note.map { .text($0) } ?? .null]).single().decode(0, as: Int.self)
            }
            return added
        }
    }

    /// Removes values from a list; returns how many were in it.
    @discardableResult
    public func remove(_ values: [String], fromList name: String, note: String? = nil) async throws -> Int {
        let s = quoteIdentifier(schema)
        let sql = "SELECT \(s).remove_from_rule_list($1, ARRAY[$2::text], $3)"
        return try await connection.transaction { session in
            var removed = 0
            for value in values {
                removed += try session.query(sql, [.text(name), .text(value), note.map { .text($0) } ?? .null]).single().decode(0, as: Int.self)
            }
            return removed
        }
    }

    /// A list's values with who added each and when.
    public func entries(ofList name: String) async throws -> [(value: String, addedBy: String, addedAt: Date)] {
        let s = quoteIdentifier(schema)
        return try await connection.query(
            "SELECT value, added_by, added_at FROM \(s).rule_list_entries WHERE list_name = $1 AND value IS NOT NULL ORDER BY value", [.text(name)]
        ).map { (try $0.decode(0), try $0.decode(1), try $0.decode(2)) }
    }
}
