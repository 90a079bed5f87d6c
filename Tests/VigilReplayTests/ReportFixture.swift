// A fixed pair of replays for the report's tests and the screenshot in docs/: a card stream
// without card ids (as a CSV dataset often is), ten days, about 1% fraud, one configuration
// that learns and one that does not. Built from seeded risks, so it is the same everywhere.
import Foundation
import VigilEngine
import VigilFeatures
import VigilML
@testable import VigilReplay

enum ReportFixture {
    static let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

    /// Events spread over `days` days, fraud about 1 in 100, truth known for all.
    static func events(count: Int = 24_000, days: Int = 10, cards: Bool = false, seed: UInt64 = 11) -> (events: [TransactionEvent], truth: [Truth]) {
        var g = SeededGenerator(seed: seed)
        var events: [TransactionEvent] = [], truth: [Truth] = []
        let step = Int64(days) * 86_400_000 / Int64(count)
        for i in 0..<count {
            events.append(TransactionEvent(eventID: "e\(i)", timestampMillis: start + Int64(i) * step,
                                           cardID: cards ? "c\(g.next() % 3_000)" : "", merchantID: "m\(g.next() % 200)", amount: 10, currency: "EUR"))
            truth.append(g.next() % 100 == 0 ? .fraud : .legit)
        }
        return (events, truth)
    }

    /// Risks whose separation grows with `learning` over the stream (0: none, as a frozen model).
    static func risks(_ truth: [Truth], learning: Double, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return truth.enumerated().map { i, t in
            let u = Double(g.nextUnit()), v = Double(g.nextUnit())
            let progress = Double(i) / Double(truth.count)
            let caught = v < 0.45 + learning * progress
            let legit = u * u * u * 0.75
            return Float(t == .fraud && caught ? 0.35 + 0.6 * u.squareRoot() : legit)
        }
    }

    static func promotions(every: Int, count: Int, seed: UInt64) -> [ReplayMetrics.Promotion] {
        var g = SeededGenerator(seed: seed)
        var version: Int64 = 1
        return (1...count).map { k in
            let after = k * every
            let promoted = g.next() % 3 != 0
            if promoted { version += 1 }
            return ReplayMetrics.Promotion(
                trainedOnEvents: after - 256, afterEvents: after, eventTime: EventTimestamp.formatRFC3339(start + Int64(after) * 36_000),
                round: k, labelsLearnt: after / 12, outcome: promoted ? "promoted" : "rejected", version: version,
                detail: promoted ? "challenger AUPRC 0.41 ≥ live 0.38 over 2,000 labels, 24 frauds"
                    : "challenger AUPRC 0.35 < live 0.38 over 2,000 labels, 22 frauds")
        }
    }

    /// The two configurations, as `vigil replay --compare 'freeze=true'` would record them.
    static func runs(cards: Bool = false, days: Int = 10) throws -> [(metrics: ReplayMetrics, timing: ReplayTiming?)] {
        let (events, truth) = Self.events(days: days, cards: cards)
        var base = ReplayConfiguration()
        base.name = "learning"
        let frozen = try base.applying(overrides: "name=frozen,freeze=true")
        var out: [(metrics: ReplayMetrics, timing: ReplayTiming?)] = []
        for (k, (c, learning)) in [(base, 0.45), (frozen, 0.0)].enumerated() {
            var record = c.record
            record["blas_kernel"] = "Haswell"  // the machine's, fixed so the fixture is
            let risks = Self.risks(truth, learning: learning, seed: 5 + UInt64(k))
            var m = MetricsBuilder.build(name: c.name, configuration: record, events: events, truth: truth, risks: risks,
                                         alerts: risks.map { $0 >= 0.5 }, from: 2048, budgets: c.alertBudgets, cardsPerDay: 100,
                                         cardsKnown: cards, seed: c.seed)
            m.promotions = c.freeze ? [] : promotions(every: 1_900, count: 12, seed: 3)
            m.labelsDelivered = 21_500
            m.finalModelVersion = m.promotions.last?.version ?? 1
            out.append((m, ReplayTiming(seconds: 0.4, eventsPerSecond: 60_000, trainingSeconds: 0.1, trainingWaitSeconds: 0, coldStartSeconds: 0.05)))
        }
        return out
    }
}
