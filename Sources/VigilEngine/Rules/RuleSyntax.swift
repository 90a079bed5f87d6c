// The rule language's syntax: tokens, the lexer, and the parsed expression tree.
//
// Grammar (lowest precedence first; keywords are case-insensitive, names are not):
//   rule     := or
//   or       := and ('or' and)*
//   and      := not ('and' not)*
//   not      := 'not' not | compare
//   compare  := sum [ ('=='|'='|'!='|'<>'|'<'|'<='|'>'|'>=') sum
//                   | ['not'] 'in' ( '(' literal (',' literal)* ')' | 'list' '(' string ')' )
//                   | 'is' ['not'] 'null' ]
//   sum      := product (('+'|'-') product)*
//   product  := unary (('*'|'/'|'%') unary)*
//   unary    := '-' unary | primary
//   primary  := number | string | 'true' | 'false' | 'null' | name | '(' rule ')'
//   name     := identifier ('.' identifier)*          e.g. amount, card.count_1h, features.bin_risk

/// One token with the scalar offset where it starts.
struct RuleToken: Equatable {
    enum Kind: Equatable {
        case number(Double)
        case text(String)
        case name(String)
        case keyword(String)  // lowercased: and or not in is null true false list
        case symbol(String)
        case end
    }

    var kind: Kind
    var offset: Int

    var display: String {
        switch kind {
        case .number(let n): "number \(n)"
        case .text(let s): "text '\(s)'"
        case .name(let n): "\"\(n)\""
        case .keyword(let k): "\"\(k)\""
        case .symbol(let s): "\"\(s)\""
        case .end: "the end of the rule"
        }
    }
}

/// Splits a rule's text into tokens.
struct RuleLexer {
    static let keywords: Set<String> = ["and", "or", "not", "in", "is", "null", "true", "false", "list"]

    static func tokens(_ text: [Unicode.Scalar]) throws(RuleError) -> [RuleToken] {
        var out: [RuleToken] = []
        var i = 0
        func fail(_ at: Int, _ message: String) -> RuleError { RuleError(at: RulePosition(offset: at, in: text), message) }
        while i < text.count {
            let c = text[i]
            if c.properties.isWhitespace { i += 1; continue }
            let start = i
            if c.isASCIIDigit || (c == "." && i + 1 < text.count && text[i + 1].isASCIIDigit) {
                while i < text.count, text[i].isASCIIDigit || text[i] == "." { i += 1 }
                if i < text.count, text[i] == "e" || text[i] == "E" {
                    var j = i + 1
                    if j < text.count, text[j] == "+" || text[j] == "-" { j += 1 }
                    if j < text.count, text[j].isASCIIDigit {
                        i = j
                        while i < text.count, text[i].isASCIIDigit { i += 1 }
                    }
                }
                let literal = String(String.UnicodeScalarView(text[start..<i]))
                guard let value = Double(literal), value.isFinite else { throw fail(start, "\"\(literal)\" is not a number") }
                if i < text.count, text[i].isNameStart { throw fail(i, "a number cannot run into a name; add a space or an operator") }
                out.append(RuleToken(kind: .number(value), offset: start))
            } else if c == "'" || c == "\"" {
                var value = String.UnicodeScalarView()
                i += 1
                while true {
                    guard i < text.count else { throw fail(start, "text opened here is never closed (\(c))") }
                    if text[i] == c {
                        // A doubled quote stands for one quote character, as in SQL.
                        if i + 1 < text.count, text[i + 1] == c { value.append(c); i += 2; continue }
                        i += 1
                        break
                    }
                    value.append(text[i])
                    i += 1
                }
                out.append(RuleToken(kind: .text(String(value)), offset: start))
            } else if c.isNameStart {
                while i < text.count, text[i].isNamePart || (text[i] == "." && i + 1 < text.count && text[i + 1].isNameStart) { i += 1 }
                let word = String(String.UnicodeScalarView(text[start..<i]))
                let lower = word.lowercased()
                out.append(RuleToken(kind: Self.keywords.contains(lower) ? .keyword(lower) : .name(word), offset: start))
            } else {
                let two = i + 1 < text.count ? String(String.UnicodeScalarView([c, text[i + 1]])) : ""
                if ["==", "!=", "<>", "<=", ">="].contains(two) {
                    out.append(RuleToken(kind: .symbol(two), offset: start))
                    i += 2
                } else if "=<>+-*/%(),".unicodeScalars.contains(c) {
                    out.append(RuleToken(kind: .symbol(String(c)), offset: start))
                    i += 1
                } else {
                    throw fail(start, "unexpected character \"\(c)\"")
                }
            }
        }
        out.append(RuleToken(kind: .end, offset: text.count))
        return out
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isNameStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
    var isNamePart: Bool { isNameStart || isASCIIDigit }
}

/// A parsed rule: a tree whose every node keeps the offset where its text starts.
indirect enum RuleExpression: Equatable {
    enum Comparison: String { case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">=" }
    enum Arithmetic: String { case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%" }
    enum Connective: String { case and, or }
    enum Members: Equatable {
        case literals([RuleExpression])
        case named(String, at: Int)
    }

    case number(Double, at: Int)
    case text(String, at: Int)
    case boolean(Bool, at: Int)
    case null(at: Int)
    case name(String, at: Int)
    case negate(RuleExpression, at: Int)
    case not(RuleExpression, at: Int)
    case arithmetic(Arithmetic, RuleExpression, RuleExpression, at: Int)
    case compare(Comparison, RuleExpression, RuleExpression, at: Int)
    case connect(Connective, RuleExpression, RuleExpression, at: Int)
    case isNull(RuleExpression, negated: Bool, at: Int)
    case member(RuleExpression, Members, negated: Bool, at: Int)

    /// Where the node's text starts.
    var offset: Int {
        switch self {
        case .number(_, let at), .text(_, let at), .boolean(_, let at), .null(let at), .name(_, let at),
             .negate(_, let at), .not(_, let at), .arithmetic(_, _, _, let at), .compare(_, _, _, let at),
             .connect(_, _, _, let at), .isNull(_, _, let at), .member(_, _, _, let at):
            at
        }
    }
}
