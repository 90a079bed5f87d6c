// The HTML report stands alone; the metrics file carries no timing.
import Foundation
import Testing
import VigilFeatures
@testable import VigilReplay

struct ReportTests {
    func metrics(_ name: String) -> ReplayMetrics {
        let events = (0..<40).map { i in
            TransactionEvent(eventID: "e\(i)", timestampMillis: Int64(i) * 3_600_000, cardID: "c\(i % 7)", merchantID: "m", amount: 1, currency: "EUR")
        }
        let truth: [Truth] = (0..<40).map { $0 % 5 == 0 ? .fraud : .legit }
        let risks: [Float] = (0..<40).map { Float(($0 * 37) % 40) / 40 }
        return MetricsBuilder.build(name: name, configuration: ["name": name], events: events, truth: truth, risks: risks,
                                    alerts: risks.map { $0 >= 0.5 }, from: 0, budgets: [0.1], cardsPerDay: 3)
    }

    @Test func htmlHasInlinePlotsAndNoNetworkReferences() {
        let html = HTMLReport.render([(metrics("a<b"), nil), (metrics("b"), nil)])
        #expect(html.components(separatedBy: "<svg").count - 1 == 5)  // PR, ROC, alert rate, two histograms
        for banned in ["http:", "https:", "src=", "href=", "<script", "@import", "url("] { #expect(!html.contains(banned), "\(banned)") }
        #expect(html.contains("a&lt;b"))
    }

    @Test func metricsPerDayAndCardPrecision() throws {
        let m = metrics("a")
        #expect(m.days.count == 2)  // 40 hourly events span two UTC days
        #expect(m.days.map(\.events) == [24, 16])
        #expect(m.days.allSatisfy { $0.cardsRanked == 3 })
        let json = String(decoding: try m.encodedJSON(), as: UTF8.self)
        #expect(!json.contains("seconds") && !json.contains("per_second"))
    }

    @Test func labelDelayParsing() {
        #expect(LabelDelay.parse("500") == .events(500))
        #expect(LabelDelay.parse("72h") == .eventTime(millis: 72 * 3_600_000))
        #expect(LabelDelay.parse("recorded") == .recorded)
        #expect(LabelDelay.parse("0") == nil)
        #expect(LabelDelay.parse("-3h") == nil)
    }
}

struct CompareTests {
    @Test func overridesChangeOnlyWhatTheyName() throws {
        var base = ReplayConfiguration()
        base.name = "live"
        base.batchSize = 500
        let b = try base.applying(overrides: "models=cae, freeze=true,label_delay=72h")
        #expect(b.name == "live-compare" && b.models == .cae && b.freeze && b.labelDelay == .eventTime(millis: 72 * 3_600_000))
        #expect(b.batchSize == 500 && b.seed == base.seed)
        #expect(try base.applying(overrides: "name=live").name == "live-b")
        #expect(ReplayConfiguration.modelOverride(in: "seed=2,model=m.bin") == "m.bin")
        #expect(throws: ReplayError.self) { try base.applying(overrides: "colour=red") }
        #expect(throws: ReplayError.self) { try base.applying(overrides: "warm_up=3") }
        #expect(throws: ReplayError.self) { try base.applying(overrides: "freeze=yes") }
    }

    @Test func learnerSettingsChangeTheScheduleAndAreRecorded() throws {
        let base = ReplayConfiguration()
        let c = try base.applying(overrides: "trainer.publish_every_labels=250,trainer.labels_per_step=64,trainer.publish_interval_ms=5000")
        #expect(c.trainer.publishEveryLabels == 250 && c.trainer.labelsPerStep == 64 && c.trainer.publishInterval == .seconds(5))
        #expect(c.trainer.rehearsalPerStep == base.trainer.rehearsalPerStep)
        #expect(c.record["trainer"]!.contains("publish_every_labels=250,") && c.record["trainer"]!.contains("publish_interval_ms=5000,"))
        #expect(try base.trainer.applying(settings: "guard_window=512").guardWindow == 512)
        #expect(throws: ReplayError.self) { try base.trainer.applying(settings: "learning_rate=3") }
        #expect(throws: ReplayError.self) { try base.trainer.applying(settings: "autoencoder_batch=1") }
        #expect(throws: ReplayError.self) { try base.trainer.applying(settings: "labels_per_step=-1") }
        #expect(throws: ReplayError.self) { try base.applying(overrides: "train_every=1000") }
    }

    /// Two configurations over the same input in one run differ where they should.
    @Test func twoConfigurationsOverOneInput() throws {
        let input = Support.simulated(transactions: 2500)
        let a = Support.configuration()
        let b = try a.applying(overrides: "freeze=true")
        let ra = try ReplayRunner.run(input, configuration: a), rb = try ReplayRunner.run(input, configuration: b)
        #expect(ra.metrics.events == rb.metrics.events && ra.metrics.frauds == rb.metrics.frauds)
        #expect(rb.metrics.promotions.isEmpty && !ra.metrics.promotions.isEmpty)
        let html = HTMLReport.render([(ra.metrics, ra.timing), (rb.metrics, rb.timing)])
        #expect(html.contains(a.name) && html.contains(b.name))
    }
}
