// Analysts' rules and lists (migration 0011): read from the views, changed only through the
// SECURITY DEFINER functions, which record who changed what and notify "<schema>_rules".
import Foundation
import VigilEngine
import VigilPostgres

extension VigilSchema {
    /// The newest version of every rule (those `off` included), by name.
    func currentRules(on session: PostgresSession) throws -> [RuleStore.StoredRule] {
        try storedRules(session.query("""
            SELECT name, version, expression, outcome, mode, description, author, created_at FROM \(s).current_rules ORDER BY name
            """))
    }

    /// Every version of one rule (or of all), oldest first.
    func ruleVersions(of name: String?, on session: PostgresSession) throws -> [RuleStore.StoredRule] {
        try storedRules(session.query("""
            SELECT name, version, expression, outcome, mode, description, author, created_at FROM \(s).rule_versions
            WHERE \(name)::text IS NULL OR name = \(name) ORDER BY name, version
            """))
    }

    private func storedRules(_ rows: PostgresRows) throws -> [RuleStore.StoredRule] {
        try rows.map { row in
            let outcome = try row.decode("outcome", as: String.self), mode = try row.decode("mode", as: String.self)
            guard let o = DecisionOutcome(rawValue: outcome), let m = RuleMode(rawValue: mode) else {
                throw ServiceError(.invalidConfiguration, "a stored rule has outcome \(outcome) and mode \(mode)")
            }
            return RuleStore.StoredRule(
                rule: Rule(name: try row.decode("name"), expression: try row.decode("expression"), outcome: o, mode: m,
                           version: Int64(try row.decode("version", as: Int32.self))),
                description: try row.decode("description"), author: try row.decode("author"), createdAt: try row.decode("created_at"))
        }
    }

    /// Every list with its values (a list without values included).
    func ruleLists(on session: PostgresSession) throws -> RuleLists {
        var lists: [String: Set<String>] = [:]
        for row in try session.query("SELECT list_name, value FROM \(s).rule_list_entries") {
            let name = try row.decode("list_name", as: String.self)
            if let value = try row.decode("value", as: String?.self) { lists[name, default: []].insert(value) } else { lists[name, default: []] = lists[name] ?? [] }
        }
        return RuleLists(lists)
    }

    /// A list's values with who added each and when.
    func ruleListEntries(_ name: String, on session: PostgresSession) throws -> [(value: String, addedBy: String, addedAt: Date)] {
        try session.query("""
            SELECT value, added_by, added_at FROM \(s).rule_list_entries WHERE list_name = \(name) AND value IS NOT NULL ORDER BY value
            """).map { (try $0.decode("value"), try $0.decode("added_by"), try $0.decode("added_at")) }
    }

    /// `save_rule`: a new version of `rule`; its number.
    func saveRule(_ rule: Rule, description: String?, on session: PostgresSession) throws -> Int64 {
        Int64(try session.query("""
            SELECT \(s).save_rule(\(rule.name), \(rule.expression), \(rule.outcome.rawValue), \(rule.mode.rawValue), \(description)) AS version
            """).single().decode("version", as: Int32.self))
    }

    /// `set_rule_mode`: a new version with `mode`; its number.
    func setRuleMode(_ name: String, _ mode: RuleMode, on session: PostgresSession) throws -> Int64 {
        Int64(try session.query("SELECT \(s).set_rule_mode(\(name), \(mode.rawValue)) AS version").single().decode("version", as: Int32.self))
    }

    /// `create_rule_list`: an empty list.
    func createRuleList(_ name: String, on session: PostgresSession) throws {
        try session.query("SELECT \(s).create_rule_list(\(name))")
    }

    /// `add_to_rule_list`: 1 when `value` was new, else 0.
    func addToRuleList(_ name: String, value: String, note: String?, on session: PostgresSession) throws -> Int {
        try session.query("SELECT \(s).add_to_rule_list(\(name), ARRAY[\(value)::text], \(note)) AS added").single().decode("added")
    }

    /// `remove_from_rule_list`: 1 when `value` was in the list, else 0.
    func removeFromRuleList(_ name: String, value: String, note: String?, on session: PostgresSession) throws -> Int {
        try session.query("SELECT \(s).remove_from_rule_list(\(name), ARRAY[\(value)::text], \(note)) AS removed").single().decode("removed")
    }
}
