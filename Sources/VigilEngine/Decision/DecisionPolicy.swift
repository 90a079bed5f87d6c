// From risk to allow / review / block: thresholds first, then rules that can only make a
// decision stricter, with every reason carried through to the audit row.
import VigilFeatures
import VigilML

/// A simple rule on the event itself, applied after the thresholds.
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
    /// The outcome at least; a rule never lowers what the models decided.
    public var outcome: DecisionOutcome

    public init(name: String, condition: Condition, outcome: DecisionOutcome = .block) {
        self.name = name
        self.condition = condition
        self.outcome = outcome
    }

    /// The value the rule tested when it fires (the amount, or 1), else nil.
    func fires(on event: TransactionEvent) -> Float? {
        switch condition {
        case .amountAbove(let limit, let currency):
            guard event.amount > limit, currency == nil || currency == event.currency else { return nil }
            return Float(event.amount)
        case .countryIn(let countries):
            guard let c = event.country, countries.contains(c) else { return nil }
            return 1
        case .merchantIn(let merchants):
            return merchants.contains(event.merchantID) ? 1 : nil
        }
    }
}

/// Thresholds and rules of the decision policy.
public struct DecisionPolicyConfiguration: Sendable, Equatable {
    /// Risk at or above which an event is reviewed. Default: 0.5.
    public var reviewThreshold: Float = 0.5
    /// Risk at or above which an event is blocked. Default: 0.9.
    public var blockThreshold: Float = 0.9
    /// Rules checked on every event, in order; the strictest that fires wins. Default: none.
    public var rules: [DecisionRule] = []

    public init(reviewThreshold: Float = 0.5, blockThreshold: Float = 0.9, rules: [DecisionRule] = []) {
        self.reviewThreshold = reviewThreshold
        self.blockThreshold = blockThreshold
        self.rules = rules
    }
}

/// Turns scored events into decisions. Immutable and Sendable: share one across threads.
public struct DecisionPolicy: Sendable {
    public let configuration: DecisionPolicyConfiguration

    public init(configuration: DecisionPolicyConfiguration = DecisionPolicyConfiguration()) throws {
        let c = configuration
        guard c.reviewThreshold.isFinite, c.blockThreshold.isFinite, 0 <= c.reviewThreshold,
              c.reviewThreshold <= c.blockThreshold, c.blockThreshold <= 1 else {
            throw EngineError(.invalidConfiguration, "thresholds must satisfy 0 ≤ review (\(c.reviewThreshold)) ≤ block (\(c.blockThreshold)) ≤ 1")
        }
        for rule in c.rules {
            guard !rule.name.isEmpty else { throw EngineError(.invalidConfiguration, "every rule needs a name") }
            guard rule.outcome != .allow else {
                throw EngineError(.invalidConfiguration, "rule \(rule.name): rules only make decisions stricter, so allow is not an outcome")
            }
            if case .amountAbove(let limit, _) = rule.condition, !(limit.isFinite && limit >= 0) {
                throw EngineError(.invalidConfiguration, "rule \(rule.name): amount limit must be finite and ≥ 0")
            }
        }
        self.configuration = c
    }

    /// The models' outcome for a risk alone.
    public func outcome(risk: Float) -> DecisionOutcome {
        risk >= configuration.blockThreshold ? .block : risk >= configuration.reviewThreshold ? .review : .allow
    }

    /// The decision for event `i` of a scored batch.
    public func decide(_ event: TransactionEvent, index i: Int, in batch: ScoredBatch) -> Decision {
        decide(event, risk: batch.risks[i], score: batch.scores[i], reasons: batch.reasons[i], modelVersion: batch.modelVersion)
    }

    public func decide(_ event: TransactionEvent, risk: Float, score: Score, reasons: ReasonList, modelVersion: Int64) -> Decision {
        var outcome = outcome(risk: risk)
        var reasons = reasons
        var fired: String?
        for rule in configuration.rules {
            guard rule.outcome >= outcome, let value = rule.fires(on: event) else { continue }
            if fired == nil || rule.outcome > outcome { fired = rule.name }
            outcome = rule.outcome
            reasons.prepend(RiskReason(kind: .rule, name: "rule.\(rule.name)", weight: value))
        }
        return Decision(eventID: event.eventID, cardID: event.cardID, merchantID: event.merchantID, amount: event.amount,
                        currency: event.currency, eventTimeMillis: event.timestampMillis, risk: risk,
                        anomalyScore: score.anomaly, fraudProbability: score.fraudProbability, modelVersion: modelVersion,
                        outcome: outcome, reasons: reasons, rule: fired)
    }

    /// Decisions for every event of a scored batch, appended to `out` (reuse it batch after batch).
    public func decide(_ events: ArraySlice<TransactionEvent>, in batch: ScoredBatch, into out: inout [Decision]) {
        precondition(events.count == batch.count, "the batch holds \(batch.count) scored events, \(events.count) were given")
        for (i, event) in events.enumerated() { out.append(decide(event, index: i, in: batch)) }
    }
}
