// Features that need an event field a dataset does not have. A CSV without a card column would
// otherwise compute every per-card aggregate over one shared pseudo-card (the same for all
// events, or worse, a global velocity posing as a card's); such features are left out instead.

/// Optional event fields that some datasets lack entirely.
public enum EventField: String, CaseIterable, Sendable, Comparable {
    case card, merchant, terminal, customer, currency, mcc, country, channel

    public static func < (a: EventField, b: EventField) -> Bool { a.rawValue < b.rawValue }
}

extension FeatureSpec {
    /// This spec without every dense feature, categorical input and cross that needs one of
    /// the `absent` fields. Everything else keeps its order and settings.
    public func withoutFeatures(needing absent: Set<EventField>) -> FeatureSpec {
        guard !absent.isEmpty else { return self }
        var spec = self
        spec.dense = dense.filter { Self.fields(needed: $0.source).isDisjoint(with: absent) }
        spec.categorical = categorical.filter { Self.fields(neededByCategorical: $0.field).isDisjoint(with: absent) }
        spec.crosses = crosses.filter { c in c.fields.allSatisfy { Self.fields(neededByCategorical: $0).isDisjoint(with: absent) } }
        return spec
    }

    /// The fields a dense source reads (`card.new_merchant` needs the card and the merchant).
    static func fields(needed source: String) -> Set<EventField> {
        guard let dot = source.firstIndex(of: ".") else { return [] }
        let head = source[..<dot], tail = source[source.index(after: dot)...]
        switch head {
        case "card":
            switch tail {
            case "new_merchant": return [.card, .merchant]
            case "new_country": return [.card, .country]
            case "new_channel": return [.card, .channel]
            default: return [.card]
            }
        case "merchant": return [.merchant]
        case "terminal": return [.terminal]
        default: return []
        }
    }

    static func fields(neededByCategorical field: String) -> Set<EventField> {
        switch field {
        case "card_id": [.card]
        case "merchant_id": [.merchant]
        case "terminal_id": [.terminal]
        case "customer_id": [.customer]
        case "currency": [.currency]
        case "mcc": [.mcc]
        case "country": [.country]
        case "channel": [.channel]
        default: []
        }
    }
}
