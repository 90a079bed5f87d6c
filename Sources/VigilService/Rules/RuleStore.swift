// The persistent side of analysts' rules: `vigil.rules` (a row per version) and the rule
// lists, read by serve, replay and `vigil rules`, and changed only through the SECURITY
// DEFINER functions of migration 0011, which record who changed what and notify
// "<schema>_rules". The statements are VigilSchema's.
import Foundation
import VigilEngine
import VigilPostgres

public struct RuleStore: Sendable {
    public let connection: PostgresConnection
    public let schema: String

    let statements: VigilSchema

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
        statements = VigilSchema(schema)
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
        let statements = self.statements
        return try await connection.withSession { try statements.currentRules(on: $0) }
    }

    /// Every version of one rule (or of all), oldest first.
    public func history(of name: String?) async throws -> [StoredRule] {
        let statements = self.statements
        return try await connection.withSession { try statements.ruleVersions(of: name, on: $0) }
    }

    /// Every list with its values.
    public func lists() async throws -> RuleLists {
        let statements = self.statements
        return try await connection.withSession { try statements.ruleLists(on: $0) }
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
        let statements = self.statements
        return try await connection.withSession { try statements.saveRule(rule, description: description, on: $0) }
    }

    /// Enforces, shadows or switches off a rule (a new version); returns the version number.
    @discardableResult
    public func setMode(_ name: String, _ mode: RuleMode) async throws -> Int64 {
        let statements = self.statements
        return try await connection.withSession { try statements.setRuleMode(name, mode, on: $0) }
    }

    /// Adds values to a list (created when missing); returns how many were new.
    @discardableResult
    public func add(_ values: [String], toList name: String, note: String? = nil) async throws -> Int {
        let statements = self.statements
        return try await connection.transaction { session in
            if values.isEmpty { try statements.createRuleList(name, on: session) }
            return try values.reduce(0) { $0 + (try statements.addToRuleList(name, value: $1, note: note, on: session)) }
        }
    }

    /// Removes values from a list; returns how many were in it.
    @discardableResult
    public func remove(_ values: [String], fromList name: String, note: String? = nil) async throws -> Int {
        let statements = self.statements
        return try await connection.transaction { session in
            try values.reduce(0) { $0 + (try statements.removeFromRuleList(name, value: $1, note: note, on: session)) }
        }
    }

    /// A list's values with who added each and when.
    public func entries(ofList name: String) async throws -> [(value: String, addedBy: String, addedAt: Date)] {
        let statements = self.statements
        return try await connection.withSession { try statements.ruleListEntries(name, on: $0) }
    }
}
