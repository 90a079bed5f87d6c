// The per-entity values a dense feature can read, computed from the state as it was before
// the current event, and the update that folds the event into the state afterwards.
import Foundation

/// Decay factors for one elapsed time, computed once per entity per event and shared by the
/// feature read-out and the state update (exp is the costliest thing on this path).
struct Decay {
    var hour: Float = 1
    var day: Float = 1
    var week: Float = 1
    var label: Float = 1

    init() {}

    /// Two exp calls instead of four: e^(-dt/1h) = (e^(-dt/24h))^24 and e^(-dt/24h) = (e^(-dt/7d))^7,
    /// by repeated multiplication in Double (a few ulps, far below Float's precision).
    init(from last: UInt32, to now: UInt32, week needsWeek: Bool = true) {
        guard now > last, last != 0 else { return }
        let dt = Double(now - last)
        let d: Double
        if needsWeek {
            let w = exp(-dt / FeatureExtractor.windows.2)
            let w2 = w * w, w4 = w2 * w2
            d = w4 * w2 * w
            week = Float(w)
        } else {
            d = exp(-dt / FeatureExtractor.windows.1)
        }
        let d2 = d * d, d4 = d2 * d2, d8 = d4 * d4, d16 = d8 * d8
        hour = Float(d16 * d8)
        day = Float(d)
        label = Float(exp(-dt / FeatureExtractor.labelWindow))
    }
}

/// A card's aggregates as of the current event, before the event itself is counted.
struct CardFeatures {
    var counts: (Float, Float, Float) = (0, 0, 0)
    var sums: (Float, Float, Float) = (0, 0, 0)
    var amountRatio: Float = 1
    var amountZScore: Float = 0
    var secondsSinceLast: Float = FeatureExtractor.firstGapSeconds
    var newMerchant: Float = 0
    var newCountry: Float = 0
    var newChannel: Float = 0
    var transactions: Float = 0
    var fraudLabels: Float = 0

    /// "New" flags are 1 only for a card with history: a card's first transaction is not
    /// treated as a new merchant (`card.transactions` tells first transactions apart).
    init(_ s: CardState, decay d: Decay, now: UInt32, logAmount: Double, merchant: UInt64, countryTag: UInt16?, channelBit: UInt8?) {
        guard s.total > 0 else { return }
        let dt = Double(now > s.lastSeconds ? now - s.lastSeconds : 0)
        counts = (s.count1h * d.hour, s.count24h * d.day, s.count7d * d.week)
        sums = (s.sum1h * d.hour, s.sum24h * d.day, s.sum7d * d.week)
        let x = Float(logAmount)
        amountRatio = Float(exp(Double(x - s.meanLogAmount)))
        amountZScore = s.total >= 2 ? (x - s.meanLogAmount) / (s.varLogAmount + 0.01).squareRoot() : 0
        secondsSinceLast = min(Float(dt), FeatureExtractor.firstGapSeconds)
        newMerchant = s.knowsMerchant(merchant) ? 0 : 1
        if let countryTag { newCountry = s.knowsCountry(countryTag) ? 0 : 1 }
        if let channelBit { newChannel = s.channels & channelBit != 0 ? 0 : 1 }
        transactions = Float(s.total)
        fraudLabels = s.fraudLabels * d.label
    }

    func value(_ a: DenseSource.CardAggregate) -> Float {
        switch a {
        case .count1h: counts.0
        case .count24h: counts.1
        case .count7d: counts.2
        case .amountSum1h: sums.0
        case .amountSum24h: sums.1
        case .amountSum7d: sums.2
        case .amountRatio: amountRatio
        case .amountZScore: amountZScore
        case .secondsSinceLast: secondsSinceLast
        case .newMerchant: newMerchant
        case .newCountry: newCountry
        case .newChannel: newChannel
        case .transactions: transactions
        case .fraudLabels: fraudLabels
        }
    }
}

/// A merchant's or terminal's aggregates as of the current event, before it is counted.
struct MerchantFeatures {
    var count1h: Float = 0
    var count24h: Float = 0
    var amountAvg24h: Float = 0
    var risk: Float
    var fraudLabels: Float = 0

    static func absent(_ c: FeatureStateConfiguration) -> MerchantFeatures { MerchantFeatures(risk: c.riskPrior) }

    private init(risk: Float) { self.risk = risk }

    init(_ s: MerchantState, decay d: Decay, configuration c: FeatureStateConfiguration) {
        count1h = s.count1h * d.hour
        count24h = s.count24h * d.day
        amountAvg24h = s.count24h > 0 ? s.sum24h / s.count24h : 0
        risk = s.risk(prior: c.riskPrior, priorWeight: c.riskPriorWeight)
        fraudLabels = s.fraudLabels
    }

    func value(_ a: DenseSource.MerchantAggregate) -> Float {
        switch a {
        case .count1h: count1h
        case .count24h: count24h
        case .amountAvg24h: amountAvg24h
        case .risk: risk
        case .fraudLabels: fraudLabels
        }
    }
}

extension FeatureExtractor {
    /// Folds a transaction into a card's state.
    static func update(_ s: inout CardState, decay d: Decay, now: UInt32, amount: Double, logAmount: Double, merchant: UInt64, countryTag: UInt16?, channelBit: UInt8?) {
        let a = Float(amount), x = Float(logAmount)
        if s.total == 0 {
            s.count1h = 1; s.count24h = 1; s.count7d = 1
            s.sum1h = a; s.sum24h = a; s.sum7d = a
            s.meanLogAmount = x
            s.varLogAmount = 0
        } else {
            s.count1h = s.count1h * d.hour + 1
            s.count24h = s.count24h * d.day + 1
            s.count7d = s.count7d * d.week + 1
            s.sum1h = s.sum1h * d.hour + a
            s.sum24h = s.sum24h * d.day + a
            s.sum7d = s.sum7d * d.week + a
            s.fraudLabels *= d.label
            // EWMA with a warm-up: a plain mean for the first 20 transactions, then alpha = 0.05.
            let alpha = max(1 / Float(s.total + 1), 0.05)
            let diff = x - s.meanLogAmount
            let increment = alpha * diff
            s.meanLogAmount += increment
            s.varLogAmount = (1 - alpha) * (s.varLogAmount + diff * increment)
        }
        s.total = s.total == .max ? .max : s.total + 1
        s.lastSeconds = max(s.lastSeconds, now)
        s.rememberMerchant(merchant)
        if let countryTag { s.rememberCountry(countryTag) }
        if let channelBit { s.channels |= channelBit }
    }

    /// Folds a transaction into a merchant's or terminal's state.
    static func update(_ s: inout MerchantState, decay d: Decay, now: UInt32, amount: Double) {
        decay(&s, d, to: now)
        s.count1h += 1
        s.count24h += 1
        s.sum24h += Float(amount)
    }

    /// Brings a merchant's decayed values forward to `now` (never backwards).
    static func decay(_ s: inout MerchantState, _ d: Decay, to now: UInt32) {
        guard now > s.lastSeconds else { return }
        s.count1h *= d.hour
        s.count24h *= d.day
        s.sum24h *= d.day
        s.fraudLabels *= d.label
        s.labels *= d.label
        s.lastSeconds = now
    }
}
