// One decision: everything a row of vigil.decisions (and an alert) needs about an event.
import VigilFeatures

/// What happens to a transaction.
public enum DecisionOutcome: String, Sendable, CaseIterable, Comparable {
    case allow, review, block

    var severity: Int { switch self { case .allow: 0; case .review: 1; case .block: 2 } }
    public static func < (a: DecisionOutcome, b: DecisionOutcome) -> Bool { a.severity < b.severity }

    /// Review and block decisions raise an alert for analysts.
    public var raisesAlert: Bool { self != .allow }
}

/// The decision about one event, with the scores and reasons behind it.
public struct Decision: Sendable, Equatable {
    public var eventID: String
    public var cardID: String
    public var merchantID: String
    public var amount: Double
    public var currency: String
    /// Event time (ms since 1970, UTC) from the event itself.
    public var eventTimeMillis: Int64
    /// Combined risk in [0, 1].
    public var risk: Float
    /// Autoencoder anomaly score (standard-score units).
    public var anomalyScore: Float
    /// Calibrated classifier probability (not used in the risk until the classifier is trained).
    public var fraudProbability: Float
    public var modelVersion: Int64
    public var outcome: DecisionOutcome
    /// Strongest first; a fired rule comes first.
    public var reasons: ReasonList
    /// The rule that raised the outcome above the models' one, if any.
    public var rule: String?

    public init(eventID: String, cardID: String, merchantID: String, amount: Double, currency: String, eventTimeMillis: Int64,
                risk: Float, anomalyScore: Float, fraudProbability: Float, modelVersion: Int64,
                outcome: DecisionOutcome, reasons: ReasonList, rule: String? = nil) {
        self.eventID = eventID
        self.cardID = cardID
        self.merchantID = merchantID
        self.amount = amount
        self.currency = currency
        self.eventTimeMillis = eventTimeMillis
        self.risk = risk
        self.anomalyScore = anomalyScore
        self.fraudProbability = fraudProbability
        self.modelVersion = modelVersion
        self.outcome = outcome
        self.reasons = reasons
        self.rule = rule
    }

    /// The reasons as text, one per element (`name:kind=weight`), as reports and tests print them.
    public var reasonTexts: [String] { reasons.map(\.description) }
}
