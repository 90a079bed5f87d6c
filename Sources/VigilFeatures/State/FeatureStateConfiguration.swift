// Bounds and settings of the streaming state. They limit memory and decide eviction, so they
// belong with the state, not the spec: changing them does not change what a feature means.

public struct FeatureStateConfiguration: Sendable, Equatable {
    /// Most cards kept; beyond it the least recently active fifth is evicted. Default: 2,000,000.
    public var maxCards: Int
    /// Cards to size the card table for up front (at most `maxCards`). Growing a table briefly
    /// holds the old and the new storage (about 2.5x the table at the last growth step), so a
    /// partition that knows its cardinality should say so. Default: 0 (grow on demand).
    public var expectedCards: Int
    /// Most merchants kept. Default: 500,000.
    public var maxMerchants: Int
    /// Most terminals kept. Default: 1,000,000.
    public var maxTerminals: Int
    /// Entities idle for longer than this (in event time) are evicted when a new event-time day
    /// starts. Default: 30 days.
    public var idleEviction: Duration
    /// Size of the direct-mapped index from recent event ids to their card, merchant and terminal,
    /// used to route labels. A label for an event that has left it is reported as unmatched.
    /// 32 bytes per slot. Default: 262,144 slots (8 MiB).
    public var recentEvents: Int
    /// Fraud rate a merchant or terminal is assumed to have before any label. Default: 0.01.
    public var riskPrior: Float
    /// How many labels the prior weighs as. Default: 20.
    public var riskPriorWeight: Float

    public init(
        maxCards: Int = 2_000_000, expectedCards: Int = 0, maxMerchants: Int = 500_000, maxTerminals: Int = 1_000_000,
        idleEviction: Duration = .seconds(30 * 86_400), recentEvents: Int = 262_144,
        riskPrior: Float = 0.01, riskPriorWeight: Float = 20
    ) {
        self.maxCards = maxCards
        self.expectedCards = expectedCards
        self.maxMerchants = maxMerchants
        self.maxTerminals = maxTerminals
        self.idleEviction = idleEviction
        self.recentEvents = recentEvents
        self.riskPrior = riskPrior
        self.riskPriorWeight = riskPriorWeight
    }

    var idleSeconds: UInt32 { UInt32(clamping: idleEviction.components.seconds) }
}
