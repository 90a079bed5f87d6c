// Type checking and compilation of a parsed rule into column code, in one pass: every node
// is given its type (number, text, condition) or a positioned error, and becomes a closure
// that computes the node for a whole batch at once (RuleInputs), reading slots and constants
// resolved here, so evaluating a rule looks nothing up by name and costs one loop per node
// per batch rather than calls per event. The loops are in RuleCompiler+Columns.swift.
//
// Nulls follow SQL's three-valued logic: a missing optional field or feature is null; any
// comparison, arithmetic or `in` with a null is unknown (null); `and` is false if either side
// is false, `or` is true if either side is true, otherwise unknown; `not unknown` is unknown;
// `is null` / `is not null` are always true or false. A rule fires only when its condition is
// true, so an unknown never fires a rule. Division by zero is null.
import VigilFeatures

/// A numeric node over a batch: one value per event, NaN for null.
typealias NumberColumnCode = @Sendable (RuleInputs) -> [Double]
/// A condition over a batch: one truth value per event.
typealias TruthColumnCode = @Sendable (RuleInputs) -> [Truth]

/// One compiled condition and the value its reason shows.
struct CompiledCondition: Sendable {
    let condition: TruthColumnCode
    /// The left side of the rule's first numeric comparison (`amount` in `amount > 500 and ...`),
    /// the reason's weight; nil: the weight is 1.
    let witness: NumberColumnCode?
}

struct RuleCompiler {
    let vocabulary: RuleVocabulary
    let lists: RuleLists
    let text: [Unicode.Scalar]

    enum Typed {
        case number(NumberOperand)
        case text(TextOperand)
        case truth(TruthColumnCode)
        case null
    }

    enum NumberOperand {
        case constant(Double)
        case source(NumberSource)
        case code(NumberColumnCode)

        var code: NumberColumnCode {
            switch self {
            case .constant(let c): { inputs in [Double](repeating: c, count: inputs.count) }
            case .source(let s): { inputs in inputs.numbers(s) }
            case .code(let c): c
            }
        }
    }

    enum TextOperand {
        case constant(String)
        case source(TextSource)

        @inline(__always)
        func value(_ inputs: RuleInputs, _ i: Int) -> String? {
            switch self {
            case .constant(let c): c
            case .source(let s): inputs.text(s, i)
            }
        }
    }

    /// Compiles `source` into a condition, or throws the first problem with its position.
    static func compile(_ source: String, vocabulary: RuleVocabulary, lists: RuleLists) throws(RuleError) -> CompiledCondition {
        let tree = try RuleParser.parse(source)
        let compiler = RuleCompiler(vocabulary: vocabulary, lists: lists, text: Array(source.unicodeScalars))
        guard case .truth(let condition) = try compiler.typed(tree) else {
            throw compiler.error(at: tree.offset, "a rule must be a condition (true or false), but this is \(try compiler.kind(tree))")
        }
        return CompiledCondition(condition: condition, witness: try compiler.witness(tree))
    }

    func error(at offset: Int, _ message: String) -> RuleError {
        RuleError(at: RulePosition(offset: offset, in: text), message)
    }

    func kind(_ e: RuleExpression) throws(RuleError) -> String {
        switch try typed(e) {
        case .number: "a number"
        case .text: "text"
        case .truth: "a condition"
        case .null: "null"
        }
    }

    private func describe(_ e: RuleExpression) throws(RuleError) -> String {
        if case .name(let n, _) = e { return "\"\(n)\" is \(try kind(e))" }
        return "this is \(try kind(e))"
    }

    private func witness(_ e: RuleExpression) throws(RuleError) -> NumberColumnCode? {
        switch e {
        case .compare(_, let left, _, _):
            if case .number(let operand) = try typed(left) { return operand.code }
            return nil
        case .connect(.and, let left, _, _): return try witness(left)
        default: return nil
        }
    }

    func typed(_ e: RuleExpression) throws(RuleError) -> Typed {
        switch e {
        case .number(let n, _): return .number(.constant(n))
        case .text(let s, _): return .text(.constant(s))
        case .boolean(let b, _): return .truth(Self.constant(Truth(b)))
        case .null: return .null
        case .name(let name, let at):
            switch vocabulary.resolve(name) {
            case .number(let s): return .number(.source(s))
            case .text(let s): return .text(.source(s))
            case nil:
                let hint = vocabulary.suggestion(for: name).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw error(at: at, "unknown name \"\(name)\"\(hint)")
            }
        case .negate(let inner, let at):
            let x = try number(inner, for: "-", at: at)
            if case .constant(let c) = x { return .number(.constant(-c)) }
            return .number(.code(Self.negate(x.code)))
        case .not(let inner, let at):
            return .truth(Self.not(try truth(inner, for: "not", at: at)))
        case .arithmetic(let op, let l, let r, let at):
            let a = try number(l, for: op.rawValue, at: at).code, b = try number(r, for: op.rawValue, at: at).code
            return .number(.code(Self.arithmetic(op, a, b)))
        case .connect(let op, let l, let r, let at):
            let a = try truth(l, for: op.rawValue, at: at), b = try truth(r, for: op.rawValue, at: at)
            return .truth(Self.connect(op, a, b))
        case .isNull(let inner, let negated, let at):
            switch try typed(inner) {
            case .number(let x):
                return .truth(Self.isNull(x.code, negated: negated))
            case .text(let x):
                return .truth(Self.isNull(x, negated: negated))
            case .truth, .null:
                throw error(at: at, "\"is null\" tests a value; \(try describe(inner))")
            }
        case .compare(let op, let l, let r, let at):
            return try compare(op, l, r, at: at)
        case .member(let inner, let members, let negated, let at):
            return try member(inner, members, negated: negated, at: at)
        }
    }

    private func number(_ e: RuleExpression, for op: String, at: Int) throws(RuleError) -> NumberOperand {
        if case .number(let x) = try typed(e) { return x }
        if case .null = try typed(e) { throw error(at: e.offset, "null is not a value to compute with; test it with \"is null\"") }
        throw error(at: e.offset, "\"\(op)\" needs a number; \(try describe(e))")
    }

    private func truth(_ e: RuleExpression, for op: String, at: Int) throws(RuleError) -> TruthColumnCode {
        if case .truth(let c) = try typed(e) { return c }
        throw error(at: e.offset, "\"\(op)\" needs a condition (true or false); \(try describe(e))")
    }

    private func compare(_ op: RuleExpression.Comparison, _ l: RuleExpression, _ r: RuleExpression, at: Int) throws(RuleError) -> Typed {
        switch (try typed(l), try typed(r)) {
        case (.null, _), (_, .null):
            throw error(at: at, "a comparison with null is never true; use \"is null\" or \"is not null\"")
        case (.number(let a), .number(let b)):
            switch (a, b) {
            case (.constant(let x), .constant(let y)):
                return .truth(Self.constant(Self.compare(op, x, y)))
            case (.source(let s), .constant(let c)):
                // The common case: one loop over the gathered column against the constant.
                return .truth(Self.compare(op, { inputs in inputs.numbers(s) }, c))
            case (.code(let x), .constant(let c)):
                return .truth(Self.compare(op, x, c))
            default:
                return .truth(Self.compare(op, a.code, b.code))
            }
        case (.text(let a), .text(let b)):
            guard op == .equal || op == .notEqual else {
                throw error(at: at, "\"\(op.rawValue)\" compares numbers; text can only be compared with == or !=")
            }
            let equal = op == .equal
            switch (a, b) {
            case (.source(let s), .constant(let c)), (.constant(let c), .source(let s)):
                return .truth(Self.textEquals(s, c, equal: equal))
            default:
                return .truth(Self.textEquals(a, b, equal: equal))
            }
        case (.truth, _), (_, .truth):
            throw error(at: at, "conditions are combined with and, or and not, not compared with \"\(op.rawValue)\"")
        case (.number, .text), (.text, .number):
            throw error(at: at, "cannot compare a number with text: \(try describe(l)), \(try describe(r))")
        }
    }

    private func member(_ inner: RuleExpression, _ members: RuleExpression.Members, negated: Bool, at: Int) throws(RuleError) -> Typed {
        let left = try typed(inner)
        let hit: Truth = negated ? .no : .yes, miss: Truth = negated ? .yes : .no
        switch members {
        case .named(let name, let listAt):
            guard let values = lists.values(of: name) else {
                let known = lists.names.isEmpty ? "no lists exist yet" : "lists: " + lists.names.joined(separator: ", ")
                throw error(at: listAt, "unknown list \"\(name)\" (\(known))")
            }
            guard case .text(let x) = left else {
                throw error(at: inner.offset, "list \"\(name)\" holds text; \(try describe(inner))")
            }
            return .truth(Self.membership(x, HashedTextSet(values), hit: hit, miss: miss))
        case .literals(let items):
            switch left {
            case .number(let x):
                var values: [Double] = []
                for item in items {
                    guard case .number(let n, _) = item else { throw error(at: item.offset, "this list must hold numbers: \(try describe(inner))") }
                    values.append(n)
                }
                return .truth(Self.membership(x.code, values, hit: hit, miss: miss))
            case .text(let x):
                var values: [String] = []
                for item in items {
                    guard case .text(let s, _) = item else { throw error(at: item.offset, "this list must hold text: \(try describe(inner))") }
                    values.append(s)
                }
                return .truth(Self.membership(x, HashedTextSet(Set(values)), hit: hit, miss: miss))
            case .truth, .null:
                throw error(at: inner.offset, "\"in\" tests a value; \(try describe(inner))")
            }
        }
    }
}
