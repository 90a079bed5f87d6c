// From risk to allow / review / block: the models' thresholds, then the analysts' rules by a
// fixed priority, with every fired rule carried through to the audit row as a reason.
import VigilFeatures
import VigilML

/// A simple rule on the event itself from the configuration file. It runs as the rule-language
/// rule `asRule` gives (`amount > 150`, `country in ('RU')`), with the same priority as any rule.
public struct DecisionRule: Sendable, Equatable {
    public enum Condition: Sendable, Equatable {
        /// The amount is above `limit` (in `currency` only, when given).
        case amountAbove(Double, currency: String?)
        /// The event's country is one of these.
        case countryIn(Set<String>)
        /// The merchant is one of these.
        case merchantIn(Set<String>)
    }

    /// Shown as the reason and stored in the decision (`rule.<name>`).
    public var name: String
    public var condition: Condition
    /// The outcome it asks for (see `DecisionPolicy` for how it combines with the models').
    public var outcome: DecisionOutcome

    public init(name: String, condition: Condition, outcome: DecisionOutcome = .block) {
        self.name = name
        self.condition = condition
        self.outcome = outcome
    }
}

/// Thresholds and rules of the decision policy.
public struct DecisionPolicyConfiguration: Sendable, Equatable {
    /// Risk at or above which an event is reviewed. Default: 0.5.
    public var reviewThreshold: Float = 0.5
    /// Risk at or above which an event is blocked. Default: 0.9.
    public var blockThreshold: Float = 0.9
    /// Rules from the configuration file, enforced on every event before any stored rule. Default: none.
    public var rules: [DecisionRule] = []

    public init(reviewThreshold: Float = 0.5, blockThreshold: Float = 0.9, rules: [DecisionRule] = []) {
        self.reviewThreshold = reviewThreshold
        self.blockThreshold = blockThreshold
        self.rules = rules
    }
}

/// Turns scored events into decisions. Immutable and Sendable: share one across threads.
///
/// Priority, highest first (enforced rules only; shadow rules never change a decision):
/// 1. a `block` rule fired: block;
/// 2. an `allow` rule fired: allow, lowering the models' review — but never the models' block:
///    a block needs risk ≥ `blockThreshold`, and an allow list (a trusted merchant) is exactly
///    what an account takeover or a compromised merchant hides behind; lower a block by
///    raising the threshold, or by a rule that blocks less, not by allowing around it;
/// 3. a `review` rule fired: at least review;
/// 4. the models' thresholds.
/// The rule that set the outcome is `Decision.rule`. Reasons: that rule first, then every other
/// enforced rule that fired (`rule.<name>:rule`), then shadow rules that fired
/// (`rule.<name>:shadow_rule`), then the models' reasons, four at most.
public struct DecisionPolicy: Sendable {
    public let configuration: DecisionPolicyConfiguration
    /// The configuration file's rules, compiled (the rule set when no stored rules are loaded).
    public let rules: RuleSet

    public init(configuration: DecisionPolicyConfiguration = DecisionPolicyConfiguration()) throws {
        let c = configuration
        guard c.reviewThreshold.isFinite, c.blockThreshold.isFinite, 0 <= c.reviewThreshold,
              c.reviewThreshold <= c.blockThreshold, c.blockThreshold <= 1 else {
            throw EngineError(.invalidConfiguration, "thresholds must satisfy 0 ≤ review (\(c.reviewThreshold)) ≤ block (\(c.blockThreshold)) ≤ 1")
        }
        for rule in c.rules {
            guard !rule.name.isEmpty else { throw EngineError(.invalidConfiguration, "every rule needs a name") }
            if case .amountAbove(let limit, _) = rule.condition, !(limit.isFinite && limit >= 0) {
                throw EngineError(.invalidConfiguration, "rule \(rule.name): amount limit must be finite and ≥ 0")
            }
        }
        do { rules = try RuleSet(rules: c.rules.map(\.asRule)) } catch {
            throw EngineError(.invalidConfiguration, "\(error)")
        }
        self.configuration = c
    }

    /// The configuration file's rules followed by `stored` (from vigil.rules), compiled against
    /// `lists`: the set serve publishes and replay's `--rules` runs.
    public func ruleSet(adding stored: [Rule], lists: RuleLists = .none, vocabulary: RuleVocabulary = RuleVocabulary()) throws(RuleError) -> RuleSet {
        try RuleSet(rules: rules.rules + stored, lists: lists, vocabulary: vocabulary)
    }

    /// The models' outcome for a risk alone.
    public func outcome(risk: Float) -> DecisionOutcome {
        risk >= configuration.blockThreshold ? .block : risk >= configuration.reviewThreshold ? .review : .allow
    }

    /// The decision for event `i` of a scored batch, with the configuration file's rules.
    public func decide(_ event: TransactionEvent, index i: Int, in batch: ScoredBatch) -> Decision {
        var tally = RuleTally(for: rules)
        let inputs = RuleInputs(events: [event][...], batch: batch, first: i)
        if !rules.isEmpty { rules.evaluate(inputs, tally: &tally) }
        return decide(0, of: inputs, reasons: batch.reasons[i], modelVersion: batch.modelVersion, rules: rules, fired: tally.fired(0))
    }

    /// One decision from scores alone. `readings` are the event's `FeatureReadings` (nil:
    /// every computed feature is null); `rules` default to the configuration file's.
    public func decide(_ event: TransactionEvent, risk: Float, score: Score, reasons: ReasonList, modelVersion: Int64,
                       readings: [Float]? = nil, rules: RuleSet? = nil) -> Decision {
        let set = rules ?? self.rules
        var tally = RuleTally(for: set)
        return decide(event, risk: risk, score: score, reasons: reasons, modelVersion: modelVersion, readings: readings, rules: set, tally: &tally)
    }

    /// The same, counting fires into `tally` (made for `rules`).
    public func decide(_ event: TransactionEvent, risk: Float, score: Score, reasons: ReasonList, modelVersion: Int64,
                       readings: [Float]?, rules: RuleSet, tally: inout RuleTally) -> Decision {
        let values = readings ?? [Float](repeating: .nan, count: FeatureReadings.count)
        precondition(values.count == FeatureReadings.count, "readings hold \(values.count) values, not \(FeatureReadings.count)")
        let inputs = RuleInputs(events: [event][...], readings: values, risks: [risk], scores: [score], classifierIsTrained: true)
        if !rules.isEmpty { rules.evaluate(inputs, tally: &tally) }
        return decide(0, of: inputs, reasons: reasons, modelVersion: modelVersion, rules: rules, fired: tally.fired(0))
    }

    /// Event `i` of `inputs` decided, the rules it `fired` already evaluated.
    func decide(_ i: Int, of inputs: RuleInputs, reasons modelReasons: ReasonList, modelVersion: Int64, rules: RuleSet,
                fired: ArraySlice<Int32>) -> Decision {
        let risk = inputs.risk(i), score = inputs.score(i)
        let models = outcome(risk: risk)
        var outcome = models
        var reasons = modelReasons
        var deciding: Int?
        if !fired.isEmpty {
            (outcome, deciding) = Self.combine(models, fired: fired, rules)
            reasons = ReasonList()
            if let d = deciding { reasons.append(RiskReason(kind: .rule, name: "rule." + rules.activeRule(d).name, weight: rules.weight(d, event: i, inputs))) }
            for mode in [RuleMode.enforce, .shadow] {
                for k in fired where Int(k) != deciding && rules.activeRule(Int(k)).mode == mode && reasons.count < ReasonList.capacity {
                    reasons.append(RiskReason(kind: mode == .enforce ? .rule : .shadowRule, name: "rule." + rules.activeRule(Int(k)).name,
                                              weight: rules.weight(Int(k), event: i, inputs)))
                }
            }
            for r in modelReasons { reasons.append(r) }
        }
        let event = inputs.events[inputs.events.startIndex + i]
        return Decision(eventID: event.eventID, cardID: event.cardID, merchantID: event.merchantID, amount: event.amount,
                        currency: event.currency, eventTimeMillis: event.timestampMillis, risk: risk,
                        anomalyScore: score.anomaly, fraudProbability: score.fraudProbability, modelVersion: modelVersion,
                        outcome: outcome, reasons: reasons, rule: deciding.map { rules.activeRule($0).name })
    }

    /// The outcome by the priority above, and the active slot of the rule that set it.
    static func combine(_ models: DecisionOutcome, fired: ArraySlice<Int32>, _ rules: RuleSet) -> (DecisionOutcome, Int?) {
        var block: Int?, allow: Int?, review: Int?
        for k in fired {
            let rule = rules.activeRule(Int(k))
            guard rule.mode == .enforce else { continue }
            switch rule.outcome {
            case .block: if block == nil { block = Int(k) }
            case .allow: if allow == nil { allow = Int(k) }
            case .review: if review == nil { review = Int(k) }
            }
        }
        if let block { return (.block, block) }
        if let allow { return models == .block ? (.block, nil) : (.allow, allow) }
        if let review { return models == .block ? (.block, nil) : (.review, review) }
        return (models, nil)
    }

    /// Decisions for every event of a scored batch with the configuration file's rules,
    /// appended to `out` (reuse it batch after batch).
    public func decide(_ events: ArraySlice<TransactionEvent>, in batch: ScoredBatch, into out: inout [Decision]) {
        var tally = RuleTally(for: rules)
        decide(events, in: batch, rules: rules, tally: &tally, into: &out)
    }

    /// Decisions for every event of a scored batch with `rules`, fires counted into `tally`:
    /// the rules run over the whole batch, column by column, before any event is decided.
    /// `tally.fired(i)` then holds event `i`'s fired slots.
    public func decide(_ events: ArraySlice<TransactionEvent>, in batch: ScoredBatch, rules: RuleSet, tally: inout RuleTally,
                       into out: inout [Decision]) {
        precondition(events.count == batch.count, "the batch holds \(batch.count) scored events, \(events.count) were given")
        let inputs = RuleInputs(events: events, batch: batch)
        if !rules.isEmpty { rules.evaluate(inputs, tally: &tally) }
        out.reserveCapacity(out.count + events.count)
        for i in 0..<events.count {
            out.append(decide(i, of: inputs, reasons: batch.reasons[i], modelVersion: batch.modelVersion, rules: rules,
                              fired: rules.isEmpty ? [] : tally.fired(i)))
        }
    }
}
