// The metrics behind the report's time plots and intervals: periods that add up, AUPRC per
// period as BinaryMetrics computes it, intervals that are deterministic for a seed.
import Foundation
import Testing
import VigilFeatures
import VigilML
@testable import VigilReplay

struct MetricsTimelineTests {
    static func build(days: Int, seed: UInt64 = 1) -> (ReplayMetrics, [TransactionEvent], [Truth], [Float]) {
        let (events, truth) = ReportFixture.events(days: days)
        let risks = ReportFixture.risks(truth, learning: 0.4, seed: 5)
        let m = MetricsBuilder.build(name: "t", configuration: [:], events: events, truth: truth, risks: risks,
                                     alerts: risks.map { $0 >= 0.5 }, from: 2048, budgets: [0.005, 0.01], cardsPerDay: 10, seed: seed)
        return (m, events, truth, risks)
    }

    @Test func tenDaysArePlottedPerDayWithEachDaysOwnAUPRC() throws {
        let (m, events, truth, risks) = Self.build(days: 10)
        #expect(m.timeline.unit == "day" && m.timeline.eventsPerPeriod == nil)
        #expect(m.timeline.periods.map(\.date) == m.days.map(\.date) && m.timeline.periods.count == 10)
        #expect(m.timeline.periods.map(\.events) == m.days.map(\.events))
        #expect(m.timeline.periods.map(\.alerts) == m.days.map(\.alerts))
        #expect(m.timeline.periods.map(\.events).reduce(0, +) == m.evaluatedEvents)
        for p in m.timeline.periods {
            let indices = (2048..<events.count).filter { String(EventTimestamp.formatRFC3339(events[$0].timestampMillis).prefix(10)) == p.date }
            let expected = BinaryMetrics.averagePrecision(scores: indices.map { risks[$0] }, isFraud: indices.map { truth[$0] == .fraud })
            #expect(p.auprc == expected && p.frauds == indices.filter { truth[$0] == .fraud }.count, "\(p.date ?? "")")
        }
    }

    @Test func afewDaysArePlottedPerBlockOfEvents() throws {
        let (m, _, truth, risks) = Self.build(days: 2)
        #expect(m.timeline.unit == "events" && m.timeline.eventsPerPeriod == 2_000)  // 21,952 evaluated events: 11 blocks
        let periods = m.timeline.periods
        #expect(periods.count == 11 && periods.first?.firstEvent == 2048 && periods.last?.endEvent == 24_000)
        #expect(zip(periods, periods.dropFirst()).allSatisfy { $0.endEvent == $1.firstEvent })
        #expect(periods.map(\.events).reduce(0, +) == m.evaluatedEvents && periods.allSatisfy { $0.date == nil })
        let third = periods[2]
        let range = third.firstEvent!..<third.endEvent!
        #expect(third.auprc == BinaryMetrics.averagePrecision(scores: Array(risks[range]), isFraud: truth[range].map { $0 == .fraud }))
    }

    @Test func blocksAreRoundAndAtMostTwentyOfThem() {
        #expect(MetricsBuilder.eventsPerPeriod(span: 1_000_000) == 50_000)
        #expect(MetricsBuilder.eventsPerPeriod(span: 12_000) == 1_000)
        #expect(MetricsBuilder.eventsPerPeriod(span: 21_952) == 2_000)
        #expect(MetricsBuilder.eventsPerPeriod(span: 50) == 100)
        #expect(MetricsBuilder.eventsPerPeriod(span: 0) == 100)
    }

    /// The intervals are in metrics.json, hold their estimates, and depend only on the seed.
    @Test func intervalsAreInTheMetricsAndTheSameForTheSameSeed() throws {
        let (m, _, _, _) = Self.build(days: 10)
        let ap = try #require(m.auprc), ci = try #require(m.auprcInterval)
        #expect(ci.low < ap && ap < ci.high)
        for b in m.budgets {
            let recall = try #require(b.recall), interval = try #require(b.recallInterval)
            #expect(interval.low <= recall && recall <= interval.high && b.precisionInterval != nil)
        }
        #expect(m.bootstrap == ReplayMetrics.Bootstrap(method: "poisson", replicates: 1000, level: 0.95, seed: 1))
        let json = try m.encodedJSON()
        #expect(json == (try Self.build(days: 10).0.encodedJSON()))
        let text = String(decoding: json, as: UTF8.self)
        for key in ["\"auprc_interval\"", "\"recall_interval\"", "\"precision_interval\"", "\"timeline\"", "\"bootstrap\""] { #expect(text.contains(key)) }
        #expect(Self.build(days: 10, seed: 2).0.auprcInterval != m.auprcInterval)
    }
}
