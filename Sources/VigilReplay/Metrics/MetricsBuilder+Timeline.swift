// Alert rate and AUPRC through the stream, per day or per block of events.
import VigilFeatures
import VigilML

extension MetricsBuilder {
    /// A stream whose evaluated events fall on fewer UTC days than this is cut into blocks of
    /// events instead: a few daily points say little about drift.
    static let minimumDaysForDailyTimeline = 7
    /// Blocks of events aim at about this many periods (see `eventsPerPeriod`).
    static let targetPeriods = 20

    /// Per UTC day when the evaluated events span `minimumDaysForDailyTimeline` days or more,
    /// else per block of `eventsPerPeriod(span:)` stream positions from `from` on. Events with
    /// unknown truth are left out, as everywhere in the metrics.
    static func timeline(events: [TransactionEvent], truth: [Truth], risks: [Float], alerts: [Bool], from: Int) -> ReplayMetrics.Timeline {
        struct Accumulator {
            var scores: [Float] = [], fraud: [Bool] = [], alerts = 0
            mutating func add(_ risk: Float, _ isFraud: Bool, _ alert: Bool) {
                scores.append(risk)
                fraud.append(isFraud)
                if alert { alerts += 1 }
            }
            func period(date: String? = nil, first: Int? = nil, end: Int? = nil) -> ReplayMetrics.Period {
                ReplayMetrics.Period(date: date, firstEvent: first, endEvent: end, events: scores.count, frauds: fraud.lazy.filter { $0 }.count,
                                     alerts: alerts, auprc: BinaryMetrics.averagePrecision(scores: scores, isFraud: fraud))
            }
        }
        // One pass over the stream, a day's accumulator looked up only when the day changes
        // (events come in time order, or nearly).
        var slots: [Int64: Int] = [:], byDay: [Accumulator] = []
        var currentDay = Int64.min, slot = -1
        for i in from..<events.count where truth[i] != .unknown {
            let day = events[i].timestampMillis / 86_400_000
            if day != currentDay {
                currentDay = day
                if let known = slots[day] {
                    slot = known
                } else {
                    slot = byDay.count
                    slots[day] = slot
                    byDay.append(Accumulator())
                }
            }
            byDay[slot].add(risks[i], truth[i] == .fraud, alerts[i])
        }
        if slots.count >= minimumDaysForDailyTimeline {
            return ReplayMetrics.Timeline(unit: "day", eventsPerPeriod: nil, periods: slots.keys.sorted().map { day in
                byDay[slots[day]!].period(date: String(EventTimestamp.formatRFC3339(day * 86_400_000).prefix(10)))
            })
        }
        let size = eventsPerPeriod(span: events.count - from)
        var periods: [ReplayMetrics.Period] = []
        for first in stride(from: from, to: events.count, by: size) {
            let end = min(first + size, events.count)
            var a = Accumulator()
            for i in first..<end where truth[i] != .unknown { a.add(risks[i], truth[i] == .fraud, alerts[i]) }
            periods.append(a.period(first: first, end: end))
        }
        return ReplayMetrics.Timeline(unit: "events", eventsPerPeriod: size, periods: periods)
    }

    /// The smallest round block (1, 2 or 5 times a power of ten, at least 100) that cuts `span`
    /// events into at most `targetPeriods` periods.
    static func eventsPerPeriod(span: Int) -> Int {
        var unit = 100
        while true {
            for m in [1, 2, 5] where unit * m * targetPeriods >= span { return unit * m }
            unit *= 10
        }
    }
}
