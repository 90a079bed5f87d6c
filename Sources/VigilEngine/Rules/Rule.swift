// An analyst's rule as stored: a name, an expression in the rule language, the outcome it
// asks for, and whether it is enforced, only watched (shadow) or switched off.
import Foundation

/// Whether a rule acts on decisions.
public enum RuleMode: String, Sendable, CaseIterable, Codable {
    /// Fires change the decision (by the priority in `DecisionPolicy`) and are reasons.
    case enforce
    /// Evaluated and counted, fires recorded as shadow reasons; no decision changes.
    case shadow
    /// Kept for its history, not evaluated.
    case off
}

/// One rule, as a version of it in `vigil.rules` (or a config-file rule translated).
public struct Rule: Sendable, Equatable {
    /// Shown as the reason (`rule.<name>`) and stored in the decision.
    public var name: String
    public var expression: String
    public var outcome: DecisionOutcome
    public var mode: RuleMode
    /// The stored version (0 for a rule from the config file).
    public var version: Int64

    public init(name: String, expression: String, outcome: DecisionOutcome, mode: RuleMode = .enforce, version: Int64 = 0) {
        self.name = name
        self.expression = expression
        self.outcome = outcome
        self.mode = mode
        self.version = version
    }

    /// A rule name is what analysts type and what reasons show: letters, digits, `_`, `-`, `.`, 1 to 64 characters.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy { $0.isNamePart || $0 == "-" || $0 == "." }
    }
}

extension DecisionRule {
    /// This config-file rule in the rule language, so both kinds run through one evaluator:
    /// `amount > 1000 and currency == 'EUR'`, `country in ('RU')`, `merchant_id in ('m1', 'm2')`.
    public var asRule: Rule {
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        let expression: String
        switch condition {
        case .amountAbove(let limit, let currency):
            expression = "amount > \(limit)" + (currency.map { " and currency == \(quoted($0))" } ?? "")
        case .countryIn(let countries):
            expression = "country in (\(countries.sorted().map(quoted).joined(separator: ", ")))"
        case .merchantIn(let merchants):
            expression = "merchant_id in (\(merchants.sorted().map(quoted).joined(separator: ", ")))"
        }
        return Rule(name: name, expression: expression, outcome: outcome, mode: .enforce)
    }
}
