// A rule that cannot be used, with the place in its text where the problem is: what an analyst
// sees from `vigil rules add` and what serve logs when it refuses a rule set.

/// Where in a rule's text something is: 1-based line and column (in Unicode scalars).
public struct RulePosition: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of scalar `offset` in `text`.
    init(offset: Int, in text: [Unicode.Scalar]) {
        var line = 1, column = 1
        for s in text.prefix(offset) {
            if s == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        self.init(line: line, column: column)
    }

    public var description: String { "\(line):\(column)" }
}

/// A rule that does not parse, does not type-check, or names something that does not exist.
public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule's name, when the error came from compiling a named rule of a set.
    public var rule: String?
    public var position: RulePosition
    public var message: String

    public init(rule: String? = nil, at position: RulePosition, _ message: String) {
        self.rule = rule
        self.position = position
        self.message = message
    }

    /// `rule large_new_country, 1:12: unknown name "card.cnt_1h"`, or without the rule part.
    public var description: String {
        (rule.map { "rule \($0), " } ?? "") + "\(position): \(message)"
    }
}
