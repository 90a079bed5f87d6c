// Per-rule figures of a replay (`--rules`, `vigil rules test`): how often each rule fired over
// the evaluated events, how many of those were known fraud (precision) and how many of the
// known frauds it caught (recall), and, against a baseline rule set, which decisions the rules
// changed. Counted in the same pass that decides, from the rule set's own fires.
import VigilEngine

/// One rule's fires over the evaluated events of a replay.
public struct RuleMetrics: Sendable, Codable, Equatable {
    public var name: String
    public var mode: String
    public var outcome: String
    public var hits: Int
    /// Fires on events known to be fraud, known to be legitimate, and of unknown truth.
    public var fraudHits: Int
    public var legitHits: Int
    public var unknownHits: Int
    /// fraud hits / (fraud + legit hits); nil without a known hit.
    public var precision: Double?
    /// fraud hits / known frauds evaluated; nil without a known fraud.
    public var recall: Double?
}

/// How the decisions of a replay differ from those of a baseline rule set on the same scores.
public struct RuleChanges: Sendable, Codable, Equatable {
    /// Evaluated events whose outcome differs from the baseline's.
    public var changed: Int
    /// Counts per change, `"allow->review"` style, only for changes that happened.
    public var byChange: [String: Int]
    /// Changed events known to be fraud / legitimate.
    public var changedFraud: Int
    public var changedLegit: Int
    /// Frauds the rules newly alert on (baseline allowed), and legitimate events newly alerted on.
    public var fraudNewlyAlerted: Int
    public var legitNewlyAlerted: Int
    /// Frauds and legitimate events the rules allow that the baseline alerted on.
    public var fraudNoLongerAlerted: Int
    public var legitNoLongerAlerted: Int
}

/// Accumulates `RuleMetrics` and `RuleChanges` event by event during a replay.
struct RuleScoreboard {
    let set: RuleSet
    var fraud: [Int], legit: [Int], unknown: [Int]
    var frauds = 0
    var changes: RuleChanges?

    init(set: RuleSet, comparing: Bool) {
        self.set = set
        fraud = [Int](repeating: 0, count: set.activeCount)
        legit = fraud
        unknown = fraud
        if comparing {
            changes = RuleChanges(changed: 0, byChange: [:], changedFraud: 0, changedLegit: 0, fraudNewlyAlerted: 0, legitNewlyAlerted: 0,
                                  fraudNoLongerAlerted: 0, legitNoLongerAlerted: 0)
        }
    }

    /// One evaluated event: the slots that fired on it and its truth, and the baseline's outcome when comparing.
    mutating func record(fired: ArraySlice<Int32>, truth: Truth, outcome: DecisionOutcome, baseline: DecisionOutcome?) {
        if truth == .fraud { frauds += 1 }
        for k in fired {
            switch truth {
            case .fraud: fraud[Int(k)] += 1
            case .legit: legit[Int(k)] += 1
            case .unknown: unknown[Int(k)] += 1
            }
        }
        guard let baseline, outcome != baseline, var c = changes else { return }
        c.changed += 1
        c.byChange["\(baseline.rawValue)->\(outcome.rawValue)", default: 0] += 1
        if truth == .fraud { c.changedFraud += 1 }
        if truth == .legit { c.changedLegit += 1 }
        if outcome.raisesAlert && !baseline.raisesAlert {
            if truth == .fraud { c.fraudNewlyAlerted += 1 } else if truth == .legit { c.legitNewlyAlerted += 1 }
        }
        if !outcome.raisesAlert && baseline.raisesAlert {
            if truth == .fraud { c.fraudNoLongerAlerted += 1 } else if truth == .legit { c.legitNoLongerAlerted += 1 }
        }
        changes = c
    }

    var metrics: [RuleMetrics] {
        (0..<set.activeCount).map { k in
            let rule = set.activeRule(k)
            let known = fraud[k] + legit[k]
            return RuleMetrics(name: rule.name, mode: rule.mode.rawValue, outcome: rule.outcome.rawValue,
                               hits: fraud[k] + legit[k] + unknown[k], fraudHits: fraud[k], legitHits: legit[k], unknownHits: unknown[k],
                               precision: known > 0 ? Double(fraud[k]) / Double(known) : nil,
                               recall: frauds > 0 ? Double(fraud[k]) / Double(frauds) : nil)
        }
    }
}
