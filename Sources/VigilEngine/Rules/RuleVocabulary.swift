// The names a rule can read: the event's fields, the computed features by their spec names
// (raw values, see FeatureReadings), extra numeric fields as `features.<key>`, and the models'
// scores. Resolved once when a rule compiles; evaluation reads by slot, never by name.
import VigilFeatures

/// A numeric value of one event. NaN is null.
enum NumberSource: Hashable, Sendable {
    case amount
    case risk, anomalyScore, fraudProbability
    /// A `FeatureReadings` slot.
    case reading(Int)
    /// An extra numeric field (`features.<key>`), by the hash the decoder keeps.
    case extra(keyHash: UInt64)
}

/// A text field of one event. nil is null.
enum TextSource: Equatable, Sendable {
    case cardID, merchantID, currency, mcc, country, channel, terminalID, customerID
    /// The card number's first six characters (issuer BIN), for BIN lists.
    case cardBIN

    @inline(__always)
    func value(_ e: TransactionEvent) -> String? {
        switch self {
        case .cardID: e.cardID
        case .merchantID: e.merchantID
        case .currency: e.currency
        case .mcc: e.mcc
        case .country: e.country
        case .channel: e.channel
        case .terminalID: e.terminalID
        case .customerID: e.customerID
        case .cardBIN: String(e.cardID.prefix(6))
        }
    }
}

/// Name resolution for rules.
public struct RuleVocabulary: Sendable {
    enum Resolved: Equatable {
        case number(NumberSource)
        case text(TextSource)
    }

    static let texts: [String: TextSource] = [
        "card_id": .cardID, "merchant_id": .merchantID, "currency": .currency, "mcc": .mcc, "country": .country,
        "channel": .channel, "terminal_id": .terminalID, "customer_id": .customerID, "card_bin": .cardBIN,
    ]
    static let numbers: [String: NumberSource] = [
        "amount": .amount, "risk": .risk, "anomaly_score": .anomalyScore, "fraud_probability": .fraudProbability,
    ]

    /// Names a feature spec gives its dense features (`"name": "velocity"` for `card.count_1h`).
    private let aliases: [String: String]

    /// The standard vocabulary, plus the custom dense-feature names of `spec` when given.
    public init(spec: FeatureSpec? = nil) {
        var aliases: [String: String] = [:]
        for d in spec?.dense ?? [] {
            if let name = d.name, name != d.source { aliases[name] = d.source }
        }
        self.aliases = aliases
    }

    func resolve(_ name: String) -> Resolved? {
        let name = aliases[name] ?? name
        if let t = Self.texts[name] { return .text(t) }
        if let n = Self.numbers[name] { return .number(n) }
        if let slot = FeatureReadings.slot(named: name) { return .number(.reading(slot)) }
        if name.hasPrefix("features."), name.count > "features.".count {
            return .number(.extra(keyHash: StableHash.hash(String(name.dropFirst("features.".count)))))
        }
        return nil
    }

    /// Every name a rule can use (without `features.<key>`), sorted.
    public var names: [String] {
        (Array(Self.texts.keys) + Array(Self.numbers.keys) + FeatureReadings.names + Array(aliases.keys)).sorted()
    }

    /// The known name closest to a misspelt one, when it is close enough to be a likely typo.
    func suggestion(for name: String) -> String? {
        var best: (String, Int)?
        for candidate in names {
            let d = Self.editDistance(Array(name.utf8), Array(candidate.utf8))
            if d <= max(2, name.count / 4), best == nil || d < best!.1 { best = (candidate, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var row = [i + 1]
            for (j, y) in b.enumerated() { row.append(min(previous[j + 1] + 1, row[j] + 1, previous[j] + (x == y ? 0 : 1))) }
            previous = row
        }
        return previous[b.count]
    }
}
