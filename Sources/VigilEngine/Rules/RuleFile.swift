// Rules and lists in a JSON file, for replays and tests without a database (`vigil replay
// --rules FILE`):
//   {"rules": [{"name": "big_new_country", "expression": "amount > 500 and card.new_country == 1",
//               "outcome": "review", "mode": "enforce"}],
//    "lists": {"blocked_cards": ["c1", "c2"]}}
// `mode` defaults to enforce. The file is only read; every rule is compiled when it is used.
import Foundation

public struct RuleFile: Sendable, Equatable {
    public var rules: [Rule]
    public var lists: RuleLists

    public init(rules: [Rule], lists: RuleLists = .none) {
        self.rules = rules
        self.lists = lists
    }

    private struct Document: Decodable {
        struct Entry: Decodable {
            var name: String
            var expression: String
            var outcome: String
            var mode: String?
        }
        var rules: [Entry]?
        var lists: [String: [String]]?
    }

    /// Reads and checks the shape of a rules file (names, outcomes, modes; not the expressions).
    public static func load(path: String) throws -> RuleFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EngineError(.invalidConfiguration, "cannot read the rules file \(path)")
        }
        return try parse(data, source: path)
    }

    public static func parse(_ data: Data, source: String = "rules file") throws -> RuleFile {
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            throw EngineError(.invalidConfiguration, "\(source) is not a rules file", underlying: error)
        }
        var rules: [Rule] = []
        for entry in document.rules ?? [] {
            guard let outcome = DecisionOutcome(rawValue: entry.outcome) else {
                throw EngineError(.invalidConfiguration, "\(source): rule \(entry.name): outcome must be allow, review or block")
            }
            guard let mode = RuleMode(rawValue: entry.mode ?? "enforce") else {
                throw EngineError(.invalidConfiguration, "\(source): rule \(entry.name): mode must be enforce, shadow or off")
            }
            rules.append(Rule(name: entry.name, expression: entry.expression, outcome: outcome, mode: mode))
        }
        return RuleFile(rules: rules, lists: RuleLists((document.lists ?? [:]).mapValues(Set.init)))
    }
}
