// The rule set in force, swapped atomically like the live model set: serve reads it once per
// batch, so every event of a batch is decided by one rule set, and a change applies from the
// next batch on.
import Synchronization

/// Holds the current `RuleSet`; `publish` replaces it with one reference assignment.
public final class RuleBook: Sendable {
    private let state: Mutex<(set: RuleSet, generation: Int64)>

    public init(_ initial: RuleSet = .empty) {
        state = Mutex((initial, 0))
    }

    /// The rule set to decide the next batch with.
    public var current: RuleSet { state.withLock { $0.set } }

    /// How many sets were published (0: the initial one).
    public var generation: Int64 { state.withLock { $0.generation } }

    /// Replaces the rule set; the previous one is released outside the lock.
    public func publish(_ set: RuleSet) {
        let old = state.withLock { s -> RuleSet in
            let old = s.set
            s = (set, s.generation + 1)
            return old
        }
        _ = old
    }
}
