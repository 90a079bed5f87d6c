// A hand-written recursive-descent parser for the rule language (grammar in RuleSyntax.swift).
// pointfreeco/swift-parsing (0.15.2, in the package mirror) was considered: its combinators
// would still need the precedence levels spelt out by hand, its failures describe the input
// rather than the rule ("expected X" without our wording), and it brings swift-case-paths and
// swift-syntax into the build. This grammar is twelve productions; a parser of our own gives
// analysts errors in their terms with a line and column, and costs nothing at run time (rules
// are parsed once, when saved and when loaded).

struct RuleParser {
    private let text: [Unicode.Scalar]
    private let tokens: [RuleToken]
    private var index = 0

    /// Parses a whole rule.
    static func parse(_ source: String) throws(RuleError) -> RuleExpression {
        var parser = try RuleParser(source)
        let expression = try parser.parseOr()
        guard case .end = parser.current.kind else {
            throw parser.error(at: parser.current.offset, "expected \"and\", \"or\" or the end of the rule, found \(parser.current.display)")
        }
        return expression
    }

    private init(_ source: String) throws(RuleError) {
        text = Array(source.unicodeScalars)
        tokens = try RuleLexer.tokens(text)
        guard tokens.count > 1 else { throw RuleError(at: RulePosition(line: 1, column: 1), "the rule is empty") }
    }

    private var current: RuleToken { tokens[index] }

    private func error(at offset: Int, _ message: String) -> RuleError {
        RuleError(at: RulePosition(offset: offset, in: text), message)
    }

    private mutating func accept(keyword: String) -> Int? {
        guard case .keyword(let k) = current.kind, k == keyword else { return nil }
        defer { index += 1 }
        return current.offset
    }

    private mutating func accept(symbol: String) -> Int? {
        guard case .symbol(let s) = current.kind, s == symbol else { return nil }
        defer { index += 1 }
        return current.offset
    }

    private mutating func expect(symbol: String, _ what: String) throws(RuleError) {
        guard accept(symbol: symbol) != nil else { throw error(at: current.offset, "expected \"\(symbol)\" \(what), found \(current.display)") }
    }

    private mutating func parseOr() throws(RuleError) -> RuleExpression {
        var left = try parseAnd()
        while let at = accept(keyword: "or") { left = .connect(.or, left, try parseAnd(), at: at) }
        return left
    }

    private mutating func parseAnd() throws(RuleError) -> RuleExpression {
        var left = try parseNot()
        while let at = accept(keyword: "and") { left = .connect(.and, left, try parseNot(), at: at) }
        return left
    }

    private mutating func parseNot() throws(RuleError) -> RuleExpression {
        if let at = accept(keyword: "not") { return .not(try parseNot(), at: at) }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(RuleError) -> RuleExpression {
        let left = try parseSum()
        if case .symbol(let s) = current.kind, let op = Self.comparisons[s] {
            let at = current.offset
            index += 1
            return .compare(op, left, try parseSum(), at: at)
        }
        if let at = accept(keyword: "is") {
            let negated = accept(keyword: "not") != nil
            guard accept(keyword: "null") != nil else { throw error(at: current.offset, "expected \"null\" after \"is\", found \(current.display)") }
            return .isNull(left, negated: negated, at: at)
        }
        let notAt = accept(keyword: "not")
        if let inAt = accept(keyword: "in") {
            return .member(left, try parseMembers(), negated: notAt != nil, at: notAt ?? inAt)
        }
        if let notAt { throw error(at: notAt, "expected \"in\" after \"not\" here, found \(current.display)") }
        return left
    }

    private static let comparisons: [String: RuleExpression.Comparison] = [
        "==": .equal, "=": .equal, "!=": .notEqual, "<>": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual,
    ]

    private mutating func parseMembers() throws(RuleError) -> RuleExpression.Members {
        if accept(keyword: "list") != nil {
            try expect(symbol: "(", "after list")
            guard case .text(let name) = current.kind else { throw error(at: current.offset, "expected a list name in quotes, found \(current.display)") }
            let at = current.offset
            index += 1
            try expect(symbol: ")", "after the list name")
            return .named(name, at: at)
        }
        try expect(symbol: "(", "after in (a list of values, or list('name'))")
        var values: [RuleExpression] = []
        repeat {
            let at = current.offset
            let negative = accept(symbol: "-") != nil
            switch current.kind {
            case .number(let n): values.append(.number(negative ? -n : n, at: at))
            case .text(let s) where !negative: values.append(.text(s, at: at))
            default: throw error(at: current.offset, "expected a number or text in the list, found \(current.display)")
            }
            index += 1
        } while accept(symbol: ",") != nil
        try expect(symbol: ")", "to close the list")
        return .literals(values)
    }

    private mutating func parseSum() throws(RuleError) -> RuleExpression {
        var left = try parseProduct()
        while true {
            if let at = accept(symbol: "+") { left = .arithmetic(.add, left, try parseProduct(), at: at) }
            else if let at = accept(symbol: "-") { left = .arithmetic(.subtract, left, try parseProduct(), at: at) }
            else { return left }
        }
    }

    private mutating func parseProduct() throws(RuleError) -> RuleExpression {
        var left = try parseUnary()
        while true {
            if let at = accept(symbol: "*") { left = .arithmetic(.multiply, left, try parseUnary(), at: at) }
            else if let at = accept(symbol: "/") { left = .arithmetic(.divide, left, try parseUnary(), at: at) }
            else if let at = accept(symbol: "%") { left = .arithmetic(.remainder, left, try parseUnary(), at: at) }
            else { return left }
        }
    }

    private mutating func parseUnary() throws(RuleError) -> RuleExpression {
        if let at = accept(symbol: "-") {
            let operand = try parseUnary()
            if case .number(let n, _) = operand { return .number(-n, at: at) }
            return .negate(operand, at: at)
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(RuleError) -> RuleExpression {
        let token = current
        switch token.kind {
        case .number(let n): index += 1; return .number(n, at: token.offset)
        case .text(let s): index += 1; return .text(s, at: token.offset)
        case .name(let n): index += 1; return .name(n, at: token.offset)
        case .keyword("true"): index += 1; return .boolean(true, at: token.offset)
        case .keyword("false"): index += 1; return .boolean(false, at: token.offset)
        case .keyword("null"): index += 1; return .null(at: token.offset)
        case .symbol("("):
            index += 1
            let inner = try parseOr()
            try expect(symbol: ")", "to close the parenthesis")
            return inner
        default:
            throw error(at: token.offset, "expected a value (a number, text, a name or a parenthesis), found \(token.display)")
        }
    }
}
