// Type checking and compilation of a parsed rule into closures over the event and its facts,
// in one pass: every node is given its type (number, text, condition) or a positioned error,
// and becomes a closure that reads slots and constants resolved here, so evaluating a rule
// looks nothing up by name. Comparisons of a field with a constant (the common case) become
// one closure each.
//
// Nulls follow SQL's three-valued logic: a missing optional field or feature is null; any
// comparison, arithmetic or `in` with a null is unknown (null); `and` is false if either side
// is false, `or` is true if either side is true, otherwise unknown; `not unknown` is unknown;
// `is null` / `is not null` are always true or false. A rule fires only when its condition is
// true, so an unknown never fires a rule. Division by zero is null.
import VigilFeatures

/// The value of a condition under three-valued logic.
enum Truth: UInt8, Sendable {
    case no = 0, yes = 1, unknown = 2

    @inline(__always)
    static func compare(_ op: RuleExpression.Comparison, _ a: Double, _ b: Double) -> Truth {
        if a.isNaN || b.isNaN { return .unknown }
        let holds = switch op {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
        return holds ? .yes : .no
    }

    @inline(__always)
    init(_ b: Bool) { self = b ? .yes : .no }
}

typealias NumberCode = @Sendable (TransactionEvent, RuleFacts) -> Double
typealias TruthCode = @Sendable (TransactionEvent, RuleFacts) -> Truth

/// One compiled condition and the value its reason shows.
struct CompiledCondition: Sendable {
    let condition: TruthCode
    /// The left side of the rule's first numeric comparison (`amount` in `amount > 500 and ...`),
    /// the reason's weight; nil: the weight is 1.
    let witness: NumberCode?
    /// The text fields the condition reads (`TextSource.bit`s), hashed once per event.
    let textMask: UInt16
}

struct RuleCompiler {
    let vocabulary: RuleVocabulary
    let lists: RuleLists
    let text: [Unicode.Scalar]

    enum Typed {
        case number(NumberOperand)
        case text(TextOperand)
        case truth(TruthCode)
        case null
    }

    enum NumberOperand {
        case constant(Double)
        case source(NumberSource)
        case code(NumberCode)

        var code: NumberCode {
            switch self {
            case .constant(let c): { _, _ in c }
            case .source(let s): { e, f in s.value(e, f) }
            case .code(let c): c
            }
        }
    }

    enum TextOperand {
        case constant(String)
        case source(TextSource)

        @inline(__always)
        func value(_ e: TransactionEvent) -> String? {
            switch self {
            case .constant(let c): c
            case .source(let s): s.value(e)
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
        return CompiledCondition(condition: condition, witness: try compiler.witness(tree), textMask: compiler.textMask(tree))
    }

    /// The text fields `e` names.
    func textMask(_ e: RuleExpression) -> UInt16 {
        switch e {
        case .name(let n, _): if case .text(let s)? = vocabulary.resolve(n) { return s.bit } else { return 0 }
        case .number, .text, .boolean, .null: return 0
        case .negate(let x, _), .not(let x, _), .isNull(let x, _, _), .member(let x, _, _, _): return textMask(x)
        case .arithmetic(_, let a, let b, _), .compare(_, let a, let b, _), .connect(_, let a, let b, _): return textMask(a) | textMask(b)
        }
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

    private func witness(_ e: RuleExpression) throws(RuleError) -> NumberCode? {
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
        case .boolean(let b, _):
            let t = Truth(b)
            return .truth { _, _ in t }
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
            let code = x.code
            return .number(.code { e, f in -code(e, f) })
        case .not(let inner, let at):
            let c = try truth(inner, for: "not", at: at)
            return .truth { e, f in
                switch c(e, f) { case .yes: .no; case .no: .yes; case .unknown: .unknown }
            }
        case .arithmetic(let op, let l, let r, let at):
            let a = try number(l, for: op.rawValue, at: at).code, b = try number(r, for: op.rawValue, at: at).code
            let code: NumberCode = switch op {
            case .add: { e, f in a(e, f) + b(e, f) }
            case .subtract: { e, f in a(e, f) - b(e, f) }
            case .multiply: { e, f in a(e, f) * b(e, f) }
            case .divide: { e, f in let d = b(e, f); return d == 0 ? .nan : a(e, f) / d }
            case .remainder: { e, f in let d = b(e, f); return d == 0 ? .nan : a(e, f).truncatingRemainder(dividingBy: d) }
            }
            return .number(.code(code))
        case .connect(let op, let l, let r, let at):
            let a = try truth(l, for: op.rawValue, at: at), b = try truth(r, for: op.rawValue, at: at)
            switch op {
            case .and:
                return .truth { e, f in
                    let x = a(e, f)
                    if x == .no { return .no }
                    let y = b(e, f)
                    return y == .no ? .no : (x == .yes && y == .yes ? .yes : .unknown)
                }
            case .or:
                return .truth { e, f in
                    let x = a(e, f)
                    if x == .yes { return .yes }
                    let y = b(e, f)
                    return y == .yes ? .yes : (x == .no && y == .no ? .no : .unknown)
                }
            }
        case .isNull(let inner, let negated, let at):
            switch try typed(inner) {
            case .number(let x):
                let code = x.code
                return .truth { e, f in Truth(code(e, f).isNaN != negated) }
            case .text(let x):
                return .truth { e, _ in Truth((x.value(e) == nil) != negated) }
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

    private func truth(_ e: RuleExpression, for op: String, at: Int) throws(RuleError) -> TruthCode {
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
                let t = Truth.compare(op, x, y)
                return .truth { _, _ in t }
            case (.source(.reading(let k)), .constant(let c)):
                return .truth(Self.readingComparison(op, slot: k, c))
            case (.source(.amount), .constant(let c)):
                return .truth(Self.amountComparison(op, c))
            case (.source(let s), .constant(let c)):
                return .truth { e, f in Truth.compare(op, s.value(e, f), c) }
            default:
                let x = a.code, y = b.code
                return .truth { e, f in Truth.compare(op, x(e, f), y(e, f)) }
            }
        case (.text(let a), .text(let b)):
            guard op == .equal || op == .notEqual else {
                throw error(at: at, "\"\(op.rawValue)\" compares numbers; text can only be compared with == or !=")
            }
            let equal = op == .equal
            switch (a, b) {
            case (.source(let s), .constant(let c)), (.constant(let c), .source(let s)):
                // The common case: hashes first, the strings only when they match.
                let slot = s.slot, bit = s.bit, h = StableHash.hash(c)
                return .truth { e, f in
                    if f.textNulls & bit != 0 { return .unknown }
                    return Truth((f.textHashes![slot] == h && s.value(e) == c) == equal)
                }
            default:
                return .truth { e, _ in
                    guard let x = a.value(e), let y = b.value(e) else { return .unknown }
                    return Truth((x == y) == equal)
                }
            }
        case (.truth, _), (_, .truth):
            throw error(at: at, "conditions are combined with and, or and not, not compared with \"\(op.rawValue)\"")
        case (.number, .text), (.text, .number):
            throw error(at: at, "cannot compare a number with text: \(try describe(l)), \(try describe(r))")
        }
    }

    /// `reading <op> constant` as one closure per operator: every rule's comparison runs its
    /// own code, whose branches the CPU then predicts, where one shared body switching on the
    /// operator mispredicts across rules. A null (NaN) reading is unknown.
    static func readingComparison(_ op: RuleExpression.Comparison, slot k: Int, _ c: Double) -> TruthCode {
        // In Double, as every other comparison: `x > 0.1` means the same here and in `x + 0 > 0.1`.
        return switch op {
        case .equal: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x == c) }
        case .notEqual: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x != c) }
        case .less: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x < c) }
        case .lessOrEqual: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x <= c) }
        case .greater: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x > c) }
        case .greaterOrEqual: { _, f in let x = Double(f.readings[k]); return x.isNaN ? .unknown : Truth(x >= c) }
        }
    }

    /// `amount <op> constant`, one closure per operator (the amount is never null).
    static func amountComparison(_ op: RuleExpression.Comparison, _ c: Double) -> TruthCode {
        switch op {
        case .equal: { e, _ in Truth(e.amount == c) }
        case .notEqual: { e, _ in Truth(e.amount != c) }
        case .less: { e, _ in Truth(e.amount < c) }
        case .lessOrEqual: { e, _ in Truth(e.amount <= c) }
        case .greater: { e, _ in Truth(e.amount > c) }
        case .greaterOrEqual: { e, _ in Truth(e.amount >= c) }
        }
    }

    /// `x in set`: by the field's per-event hash when `x` is a field, confirmed by the strings.
    static func membership(_ x: TextOperand, _ set: HashedTextSet, hit: Truth, miss: Truth) -> TruthCode {
        switch x {
        case .source(let s):
            let slot = s.slot, bit = s.bit
            return { e, f in
                if f.textNulls & bit != 0 { return .unknown }
                guard set.mayContain(hash: f.textHashes![slot]), let v = s.value(e) else { return miss }
                return set.values.contains(v) ? hit : miss
            }
        case .constant(let c):
            let t = set.values.contains(c) ? hit : miss
            return { _, _ in t }
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
                let code = x.code, numbers = values
                return .truth { e, f in
                    let v = code(e, f)
                    if v.isNaN { return .unknown }
                    return numbers.contains(v) ? hit : miss
                }
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
