// A compiled set of rules: what serve swaps in atomically between batches and replay runs
// over history. Immutable and Sendable; per-batch fires and hit counts live in the caller's
// RuleTally so one set is shared by every thread without locks.
import VigilFeatures

/// Rules compiled against a set of lists. Rules that are `off` are kept (for listing) but not evaluated.
public final class RuleSet: Sendable {
    /// Every rule given, in order.
    public let rules: [Rule]
    public let lists: RuleLists
    /// Indices into `rules` of the rules evaluated (enforce and shadow), in order.
    let active: [Int]
    /// The active rules' conditions, and the code of their reasons' weights.
    private let conditions: [TruthColumnCode]
    private let witnesses: [NumberColumnCode?]

    public static let empty = try! RuleSet(rules: [])

    /// Compiles `rules` (names must be unique) against `lists`; the first problem is thrown,
    /// with the rule's name and the position in its expression.
    public init(rules: [Rule], lists: RuleLists = .none, vocabulary: RuleVocabulary = RuleVocabulary()) throws(RuleError) {
        var seen = Set<String>()
        var active: [Int] = [], conditions: [CompiledCondition] = []
        for (index, rule) in rules.enumerated() {
            guard Rule.isValidName(rule.name) else {
                throw RuleError(rule: rule.name, at: RulePosition(line: 1, column: 1), "a rule name is 1 to 64 letters, digits, _, - or .")
            }
            guard seen.insert(rule.name).inserted else {
                throw RuleError(rule: rule.name, at: RulePosition(line: 1, column: 1), "two rules are named \"\(rule.name)\"")
            }
            do {
                let compiled = try RuleCompiler.compile(rule.expression, vocabulary: vocabulary, lists: lists)
                guard rule.mode != .off else { continue }
                active.append(index)
                conditions.append(compiled)
            } catch {
                var named = error
                named.rule = rule.name
                throw named
            }
        }
        self.rules = rules
        self.lists = lists
        self.active = active
        self.conditions = conditions.map(\.condition)
        witnesses = conditions.map(\.witness)
    }

    /// Checks one expression as `vigil rules add` does before saving it.
    public static func check(_ expression: String, lists: RuleLists = .none, vocabulary: RuleVocabulary = RuleVocabulary()) throws(RuleError) {
        _ = try RuleCompiler.compile(expression, vocabulary: vocabulary, lists: lists)
    }

    /// No rule is evaluated (decisions are the models' alone).
    public var isEmpty: Bool { active.isEmpty }

    /// Rules evaluated per event.
    public var activeCount: Int { active.count }

    /// The rule behind active slot `k` (the slots `RuleTally.hits` counts by).
    public func activeRule(_ k: Int) -> Rule { rules[active[k]] }

    /// Evaluates every active rule over the batch in `inputs`, one rule at a time over the
    /// whole batch: each event's fired slots into `tally` (in slot order), each fire counted.
    func evaluate(_ inputs: RuleInputs, tally: inout RuleTally) {
        let n = inputs.count
        tally.firedSlots.removeAll(keepingCapacity: true)
        tally.firedEnds.removeAll(keepingCapacity: true)
        var columns: [[Truth]] = []
        columns.reserveCapacity(conditions.count)
        var anyFired = [Bool](repeating: false, count: n)
        for (k, condition) in conditions.enumerated() {
            let column = condition(inputs)
            var hits = 0
            for i in 0..<n where column[i] == .yes {
                hits += 1
                anyFired[i] = true
            }
            tally.hits[k] += hits
            columns.append(column)
        }
        // Rules fire on few events: gather the slots of those only.
        for i in 0..<n {
            if anyFired[i] {
                for k in 0..<columns.count where columns[k][i] == .yes { tally.firedSlots.append(Int32(k)) }
            }
            tally.firedEnds.append(tally.firedSlots.count)
        }
    }

    /// The weight of active slot `k`'s reason on event `i` of `inputs`: the value its first
    /// comparison tested, else 1 (the slot's column is computed once per batch, when it fires).
    func weight(_ k: Int, event i: Int, _ inputs: RuleInputs) -> Float {
        guard let w = witnesses[k] else { return 1 }
        if let column = inputs.witnesses[k] { return Float(column[i]) }
        let column = w(inputs)
        inputs.witnesses[k] = column
        return Float(column[i])
    }
}

/// Per-caller scratch and hit counts for evaluating one `RuleSet` (make one per set per batch, or per run).
public struct RuleTally: Sendable {
    /// Fires per active slot of the set (see `RuleSet.activeRule`).
    public internal(set) var hits: [Int]
    /// The slots fired by each event of the last batch evaluated, event after event; event
    /// `i`'s end at `firedEnds[i]`.
    var firedSlots: [Int32] = []
    var firedEnds: [Int] = []

    public init(for set: RuleSet) {
        hits = [Int](repeating: 0, count: set.activeCount)
    }

    /// The active slots event `i` of the last batch evaluated fired, in slot order.
    public func fired(_ i: Int) -> ArraySlice<Int32> {
        guard i < firedEnds.count else { return [] }
        return firedSlots[(i == 0 ? 0 : firedEnds[i - 1])..<firedEnds[i]]
    }

    /// Adds another tally's hits of the same set.
    public mutating func add(_ other: RuleTally) {
        precondition(other.hits.count == hits.count, "tallies of different rule sets")
        for k in hits.indices { hits[k] += other.hits[k] }
    }
}
