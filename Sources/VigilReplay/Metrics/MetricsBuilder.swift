// Turns per-event risks, alerts and truth into ReplayMetrics.
import VigilFeatures
import VigilML

enum MetricsBuilder {
    static let histogramBins = 20
    /// Resamples behind each confidence interval, and the intervals' level.
    static let bootstrapReplicates = 1000
    static let bootstrapLevel = 0.95

    /// - Parameters: per-event arrays over the whole replay; `from` = first evaluated index;
    ///   `seed` seeds the bootstrap (the replay's seed).
    static func build(name: String, configuration: [String: String], events: [TransactionEvent], truth: [Truth],
                      risks: [Float], alerts: [Bool], from: Int, budgets: [Double], cardsPerDay k: Int,
                      cardsKnown: Bool = true, seed: UInt64 = 1) -> ReplayMetrics {
        // The per-day table and the timeline are independent of the rest: built on the other core meanwhile.
        let dayWork = BackgroundWork(name: "vigil-replay-days") {
            (days(events: events, truth: truth, risks: risks, alerts: alerts, from: from, k: k, cardsKnown: cardsKnown),
             timeline(events: events, truth: truth, risks: risks, alerts: alerts, from: from))
        }
        // Events with unknown truth are scored but cannot be judged: leave them out.
        var scores: [Float] = [], fraud: [Bool] = []
        var histogram = ReplayMetrics.Histogram(fraud: Array(repeating: 0, count: histogramBins), legit: Array(repeating: 0, count: histogramBins))
        var alertCount = 0
        for i in from..<events.count where truth[i] != .unknown {
            scores.append(risks[i])
            fraud.append(truth[i] == .fraud)
            if alerts[i] { alertCount += 1 }
            let bin = min(histogramBins - 1, max(0, Int(risks[i] * Float(histogramBins))))
            if truth[i] == .fraud { histogram.fraud[bin] += 1 } else { histogram.legit[bin] += 1 }
        }
        let m = BinaryMetrics(scores: scores, isFraud: fraud)
        let half = scores.count / 2
        let firstHalf = BinaryMetrics(scores: Array(scores[..<half]), isFraud: Array(fraud[..<half]))
        let secondHalf = BinaryMetrics(scores: Array(scores[half...]), isFraud: Array(fraud[half...]))
        let curves = m.curves()
        let intervals = m.bootstrap(budgets: budgets, replicates: bootstrapReplicates, level: bootstrapLevel, seed: seed)
        // `days` and `timeline` cannot throw.
        let (perDay, perPeriod) = (try? dayWork.wait()) ?? ([], ReplayMetrics.Timeline(unit: "events", eventsPerPeriod: nil, periods: []))
        return ReplayMetrics(
            name: name, configuration: configuration, events: events.count, warmUpEvents: from, evaluatedEvents: scores.count,
            frauds: m.positives, fraudRate: scores.isEmpty ? nil : Double(m.positives) / Double(scores.count),
            auprc: m.auprc, auprcInterval: intervals.auprc,
            bootstrap: ReplayMetrics.Bootstrap(method: "poisson", replicates: intervals.replicates, level: intervals.level, seed: seed),
            auprcFirstHalf: firstHalf.auprc, auprcSecondHalf: secondHalf.auprc, rocAUC: m.rocAUC,
            budgets: budgets.enumerated().map { i, b in
                let r = m.atBudget(b)
                return ReplayMetrics.Budget(budget: b, alerts: r.alerts, precision: r.precision, recall: r.recall,
                                            precisionInterval: intervals.precisionAtBudget[i], recallInterval: intervals.recallAtBudget[i])
            },
            alertRate: scores.isEmpty ? nil : Double(alertCount) / Double(scores.count),
            days: perDay, timeline: perPeriod, cardsPerDayK: k, cardPrecisionApplicable: cardsKnown,
            riskHistogram: histogram, promotions: [], labelsDelivered: 0, labelsUnmatched: 0, finalModelVersion: 0, skippedRows: 0,
            prCurve: curves.pr, rocCurve: curves.roc)
    }

    /// Per UTC day: volume, frauds, alerts and card precision@k (cards ranked by their top risk).
    static func days(events: [TransactionEvent], truth: [Truth], risks: [Float], alerts: [Bool], from: Int, k: Int,
                     cardsKnown: Bool = true) -> [ReplayMetrics.Day] {
        struct Card { var risk: Float; var fraud: Bool; var first: Int }
        struct DayState { var events = 0, frauds = 0, alerts = 0; var cards: [String: Card] = [:] }
        var byDay: [Int64: DayState] = [:]
        for i in from..<events.count where truth[i] != .unknown {
            // Mutated in place: copying a day out and back would copy its card dictionary per event.
            func update(_ d: inout DayState) {
                d.events += 1
                if truth[i] == .fraud { d.frauds += 1 }
                if alerts[i] { d.alerts += 1 }
                if cardsKnown { update(&d.cards[events[i].cardID, default: Card(risk: -1, fraud: false, first: i)]) }
            }
            func update(_ c: inout Card) {
                c.risk = max(c.risk, risks[i])
                c.fraud = c.fraud || truth[i] == .fraud
            }
            update(&byDay[events[i].timestampMillis / 86_400_000, default: DayState()])
        }
        return byDay.keys.sorted().map { day in
            let d = byDay[day]!
            // Ties broken by the card's first event index: deterministic whatever the dictionary order.
            let ranked = d.cards.values.sorted { $0.risk != $1.risk ? $0.risk > $1.risk : $0.first < $1.first }
            let top = ranked.prefix(k)
            let date = String(EventTimestamp.formatRFC3339(day * 86_400_000).prefix(10))
            return ReplayMetrics.Day(date: date, events: d.events, frauds: d.frauds, alerts: d.alerts,
                                     cardPrecisionAtK: top.isEmpty ? nil : Double(top.filter(\.fraud).count) / Double(top.count),
                                     cardsRanked: top.count)
        }
    }
}
