// The raw values of every computed feature an event has, by the source names of the feature
// spec (`card.count_1h`, `terminal.risk`, `time.hour`), for analysts' rules: a rule says
// "more than 5 transactions in the last hour", not "log1p of the count above 1.79", so rules
// read these values before any log1p, standardisation or clipping, and whatever the spec a
// model was trained on contains.
//
// A value that does not exist for an event is NaN (a rule's null): the terminal aggregates
// of an event without `terminal_id`, the time since the last transaction, the amount ratio
// and z-score of a card seen for the first time (the z-score until its second), and the
// "new country/channel" flags of an event that has no country/channel.

/// Slots of the per-event readings vector, one Float each, NaN for null.
public enum FeatureReadings {
    /// Every reading's name, in slot order.
    public static let names: [String] =
        DenseSource.CardAggregate.allCases.map { "card." + $0.rawValue }
        + DenseSource.MerchantAggregate.allCases.map { "merchant." + $0.rawValue }
        + DenseSource.MerchantAggregate.allCases.map { "terminal." + $0.rawValue }
        + DenseSource.TimeFeature.allCases.map { "time." + $0.rawValue }

    /// Readings per event.
    public static var count: Int { names.count }

    private static let slots: [String: Int] = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

    /// The slot of a reading by name (`card.count_1h`), or nil when there is no such reading.
    public static func slot(named name: String) -> Int? { slots[name] }

    // `allCases` builds an array on every call: the hot path walks these copies instead.
    private static let cardAggregates = DenseSource.CardAggregate.allCases
    private static let merchantAggregates = DenseSource.MerchantAggregate.allCases
    private static let timeFeatures = DenseSource.TimeFeature.allCases
    private static let secondsSinceLast = cardAggregates.firstIndex(of: .secondsSinceLast)!
    private static let amountRatio = cardAggregates.firstIndex(of: .amountRatio)!
    private static let amountZScore = cardAggregates.firstIndex(of: .amountZScore)!
    private static let newCountry = cardAggregates.firstIndex(of: .newCountry)!
    private static let newChannel = cardAggregates.firstIndex(of: .newChannel)!

    /// Writes one event's readings into `out` (at least `count` long).
    static func write(card: CardFeatures, merchant: MerchantFeatures, terminal: MerchantFeatures?, clock: ClockFeatures,
                      hasCountry: Bool, hasChannel: Bool, into out: inout [Float]) {
        var r = out.mutableSpan
        var i = 0
        for a in cardAggregates { r[i] = card.value(a); i += 1 }
        if card.transactions == 0 {
            r[secondsSinceLast] = .nan
            r[amountRatio] = .nan
        }
        if card.transactions < 2 { r[amountZScore] = .nan }
        if !hasCountry { r[newCountry] = .nan }
        if !hasChannel { r[newChannel] = .nan }
        for a in merchantAggregates { r[i] = merchant.value(a); i += 1 }
        for a in merchantAggregates { r[i] = terminal?.value(a) ?? .nan; i += 1 }
        for t in timeFeatures { r[i] = Float(clock.value(t)); i += 1 }
    }
}
