// Per-event inputs shared by several features: categorical hashes (each computed at most once
// per event) and the time-of-day / day-of-week values.
import Foundation

/// Stable hashes of an event's categorical values, computed lazily and at most once each.
struct EventHashes {
    private var values = InlineArray<8, UInt64>(repeating: 0)
    private var known: UInt16 = 0
    var hour: UInt64 = 0
    var dayOfWeek: UInt64 = 0
    var amountBucket: UInt64 = 0

    init() {}

    /// The hash of `source` in `event`; 0 when the event lacks the field (one shared "missing" bucket).
    @inline(__always)
    mutating func get(_ source: CategoricalSource, _ event: TransactionEvent) -> UInt64 {
        switch source {
        case .hour: return hour
        case .dayOfWeek: return dayOfWeek
        case .amountBucket: return amountBucket
        default: break
        }
        let bit: UInt16 = 1 << UInt16(source.rawValue)
        if known & bit != 0 { return values[source.rawValue] }
        let h: UInt64
        switch source {
        case .mcc: h = event.mcc.map { StableHash.hash($0) } ?? 0
        case .country: h = event.country.map { StableHash.hash($0) } ?? 0
        case .channel: h = event.channel.map { StableHash.hash($0) } ?? 0
        case .currency: h = StableHash.hash(event.currency)
        case .merchantID: h = StableHash.hash(event.merchantID)
        case .terminalID: h = event.terminalID.map { StableHash.hash($0) } ?? 0
        case .customerID: h = event.customerID.map { StableHash.hash($0) } ?? 0
        case .cardID: h = StableHash.hash(event.cardID)
        case .hour, .dayOfWeek, .amountBucket: h = 0
        }
        values[source.rawValue] = h
        known |= bit
        return h
    }
}

/// Time features of one local second.
struct ClockFeatures: Sendable {
    let localSecond: Int64
    let secondOfDay: Double
    let dayOfWeek: Double
    let hourSin: Double, hourCos: Double, dowSin: Double, dowCos: Double

    init(localSecond: Int64) {
        self.localSecond = localSecond
        secondOfDay = Double(((localSecond % 86_400) + 86_400) % 86_400)
        // Monday = 0; 1970-01-01 was a Thursday.
        let days = localSecond >= 0 ? localSecond / 86_400 : (localSecond - 86_399) / 86_400
        dayOfWeek = Double(((days + 3) % 7 + 7) % 7)
        let dayAngle = 2 * Double.pi * secondOfDay / 86_400
        let weekAngle = 2 * Double.pi * (dayOfWeek + secondOfDay / 86_400) / 7
        hourSin = Foundation.sin(dayAngle)
        hourCos = Foundation.cos(dayAngle)
        dowSin = Foundation.sin(weekAngle)
        dowCos = Foundation.cos(weekAngle)
    }

    func value(_ t: DenseSource.TimeFeature) -> Double {
        switch t {
        case .hour: (secondOfDay / 3600).rounded(.down)
        case .dayOfWeek: dayOfWeek
        case .hourSin: hourSin
        case .hourCos: hourCos
        case .dowSin: dowSin
        case .dowCos: dowCos
        case .isWeekend: dayOfWeek >= 5 ? 1 : 0
        case .isNight: secondOfDay < 6 * 3600 ? 1 : 0
        }
    }
}
