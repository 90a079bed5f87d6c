// One decoded card transaction, as the event contract in DESIGN.md defines it.

/// An extra numeric field from the event's `features` object. Only the stable hash of the
/// key is kept: the feature spec refers to these keys by the same hash, and keeping no
/// String avoids an allocation per key on the hot path.
public struct ExtraFeature: Sendable, Equatable {
    public var keyHash: UInt64
    public var value: Double

    public init(keyHash: UInt64, value: Double) {
        self.keyHash = keyHash
        self.value = value
    }

    public init(key: String, value: Double) {
        self.init(keyHash: StableHash.hash(key), value: value)
    }
}

/// A validated transaction: every field obeys the contract (ids non-empty, amount finite and ≥ 0).
public struct TransactionEvent: Sendable, Equatable {
    public var eventID: String
    /// Event time in milliseconds since the Unix epoch (UTC).
    public var timestampMillis: Int64
    public var cardID: String
    public var merchantID: String
    /// Finite and ≥ 0 (never -0). Zero is real traffic: verification authorisations, a
    /// classic card-testing probe.
    public var amount: Double
    public var currency: String
    public var mcc: String?
    public var country: String?
    public var channel: String?
    public var terminalID: String?
    public var customerID: String?
    public var extraFeatures: [ExtraFeature]

    public init(
        eventID: String, timestampMillis: Int64, cardID: String, merchantID: String,
        amount: Double, currency: String, mcc: String? = nil, country: String? = nil,
        channel: String? = nil, terminalID: String? = nil, customerID: String? = nil,
        extraFeatures: [ExtraFeature] = []
    ) {
        self.eventID = eventID
        self.timestampMillis = timestampMillis
        self.cardID = cardID
        self.merchantID = merchantID
        self.amount = amount
        self.currency = currency
        self.mcc = mcc
        self.country = country
        self.channel = channel
        self.terminalID = terminalID
        self.customerID = customerID
        self.extraFeatures = extraFeatures
    }

    /// The value of `features.<key>`, if the event carried it.
    public func extraFeature(_ key: String) -> Double? {
        let hash = StableHash.hash(key)
        return extraFeatures.first(where: { $0.keyHash == hash })?.value
    }
}

/// A delayed label (chargeback, analyst verdict) from the `labels` topic.
public struct LabelEvent: Sendable, Equatable {
    public var eventID: String
    public var isFraud: Bool
    public var timestampMillis: Int64

    public init(eventID: String, isFraud: Bool, timestampMillis: Int64) {
        self.eventID = eventID
        self.isFraud = isFraud
        self.timestampMillis = timestampMillis
    }
}
