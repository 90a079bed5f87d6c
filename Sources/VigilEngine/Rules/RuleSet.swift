// A compiled set of rules: what serve swaps in atomically between batches and replay runs
// over history. Immutable and Sendable; per-event scratch and hit counts live in the caller's
// RuleTally so one set is shared by every thread without locks.
import VigilFeatures

/// Rules compiled against a set of lists. Rules that are `off` are kept (for listing) but not evaluated.
public final class RuleSet: Sendable {
    /// Every rule given, in order.
    public let rules: [Rule]
    public let lists: RuleLists
    /// Indices into `rules` of the rules evaluated (enforce and shadow), in order.
    let active: [Int]
    /// The active rules' conditions, contiguous, and their reason weights. Kept apart so the
    /// per-event loop walks plain closures (see `evaluate`).
    private let conditions: ContiguousArray<TruthCode>
    private let witnesses: [NumberCode?]
    /// Text fields some active rule reads: hashed once per event before the rules run.
    private let textMask: UInt16

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
        self.conditions = ContiguousArray(conditions.map(\.condition))
        witnesses = conditions.map(\.witness)
        textMask = conditions.reduce(0) { $0 | $1.textMask }
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

    /// Evaluates every active rule on one event: fired slots into `tally.fired` (in order),
    /// each fire counted in `tally.hits`.
    func evaluate(_ event: TransactionEvent, _ facts: RuleFacts, tally: inout RuleTally) {
        tally.fired.removeAll(keepingCapacity: true)
        // Through a buffer: the closures are then called where they lie, without copying
        // (and so retaining and releasing) each one per event.
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: TextSource.all.count) { keys in
            var facts = facts
            facts.textNulls = TextSource.hash(event, mask: textMask, into: keys.baseAddress!)
            facts.textHashes = UnsafePointer(keys.baseAddress!)
            conditions.withUnsafeBufferPointer { codes in
                for k in 0..<codes.count where codes[k](event, facts) == .yes {
                    tally.hits[k] += 1
                    tally.fired.append(Int32(k))
                }
            }
        }
    }

    /// The weight of active slot `k`'s reason: the value its first comparison tested, else 1.
    func weight(_ k: Int, _ event: TransactionEvent, _ facts: RuleFacts) -> Float {
        guard let w = witnesses[k] else { return 1 }
        return Float(w(event, facts))
    }
}


/// Per-caller scratch and hit counts for evaluating one `RuleSet` (make one per set per batch, or per run).
public struct RuleTally: Sendable {
    /// Fires per active slot of the set (see `RuleSet.activeRule`).
    public internal(set) var hits: [Int]
    /// Slots fired by the last event evaluated.
    public internal(set) var fired: [Int32] = []

    public init(for set: RuleSet) {
        hits = [Int](repeating: 0, count: set.activeCount)
        fired.reserveCapacity(set.activeCount)
    }

    /// Adds another tally's hits of the same set.
    public mutating func add(_ other: RuleTally) {
        precondition(other.hits.count == hits.count, "tallies of different rule sets")
        for k in hits.indices { hits[k] += other.hits[k] }
    }
}
