// The HTML report stands alone; the metrics file carries no timing.
import Foundation
import Testing
import VigilFeatures
import VigilML
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
        #expect(html.components(separatedBy: "<svg").count - 1 == 5)  // PR, ROC, risk by class, alert rate and AUPRC over time
        for banned in ["http:", "https:", "src=", "href=", "<script", "@import", "url(", "@font-face", "<link", "<img", "<iframe"] {
            #expect(!html.contains(banned), "\(banned)")
        }
        #expect(html.contains("a&lt;b") && !html.contains("a<b"))
        #expect(html.contains("@media print") && html.contains("break-inside:avoid"))
    }

    /// Each plot's axes carry round, labelled ticks and say what they measure.
    @Test func plotsHaveTicksValuesAndUnits() throws {
        let runs = try ReportFixture.runs()
        let ms = runs.map(\.metrics)
        let figures = [ReportFigures.precisionRecall(ms), ReportFigures.roc(ms), ReportFigures.riskDistribution(ms),
                       ReportFigures.alertRateOverTime(ms), ReportFigures.auprcOverTime(ms)]
        for figure in figures {
            let svg = figure.plot.svg()
            #expect(svg.components(separatedBy: "<g class=\"tick x\">").count - 1 >= 4, "\(figure.plot.title)")
            #expect(svg.components(separatedBy: "<g class=\"tick y\">").count - 1 >= 4, "\(figure.plot.title)")
            // Both runs in the legend, in their colours.
            for (i, m) in ms.enumerated() { #expect(svg.contains(ReportFigures.color(i)) && svg.contains(m.name), "\(figure.plot.title)") }
        }
        #expect(figures[0].plot.y.ticks.map(\.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(figures[0].plot.x.label.contains("recall") && figures[1].plot.x.label.contains("false positive rate"))
        #expect(figures[3].plot.y.ticks.allSatisfy { $0.label.hasSuffix("%") })
        // Ten days: a date axis, ticks at midnight.
        #expect(figures[3].plot.x.label.hasPrefix("UTC date (2026)") && figures[3].plot.x.ticks.first?.label == "01-01")
        // The no-skill line of the PR plot sits at the fraud rate.
        let rate = try #require(ms[0].fraudRate)
        let noSkill = try #require(figures[0].plot.series.first { $0.name.hasPrefix("no skill") })
        #expect(noSkill.segments == [[CurvePoint(x: 0, y: rate), CurvePoint(x: 1, y: rate)]])
    }

    @Test func axesTickAtRoundValues() {
        #expect(PlotAxis.linear("r", upper: 0.0123, format: .percent).ticks.map(\.label) == ["0.0%", "0.5%", "1.0%", "1.5%"])
        #expect(PlotAxis.linear("n", lower: 2048, upper: 1_000_000, targetTicks: 6, format: .count).ticks.map(\.label)
                    == ["200k", "400k", "600k", "800k", "1M"])
        #expect(PlotAxis.linear("n", upper: 1_500_000, format: .count).ticks.map(\.label) == ["0", "500k", "1M", "1.5M"])
        let days = PlotAxis.days(firstDay: 20_454, lastDay: 20_484)  // 2026-01-01 ... 2026-01-31
        #expect(days.ticks.map(\.label) == ["01-01", "01-08", "01-15", "01-22", "01-29"])
        #expect(days.upper == 20_485)
    }

    /// A learner that publishes every few batches: a rug of ticks instead of thousands of lines,
    /// and checks counted per period instead of listed.
    @Test func manyPublicationsBecomeARugAndCountsPerPeriod() throws {
        var ms = try ReportFixture.runs().map(\.metrics)
        ms[0].promotions = ReportFixture.promotions(every: 10, count: 2_300, seed: 4)
        let published = ms[0].promotions.filter { $0.outcome == "promoted" }
        let svg = ReportFigures.auprcOverTime(ms).plot.svg()
        #expect(!svg.contains("<g class=\"marker\">") && svg.components(separatedBy: "<g class=\"rug\"").count - 1 == 1)
        #expect(svg.contains("\(ReportText.count(published.count)) models published"))
        let checks = ReportTables.checks(ms[0])
        let perDay = try #require(checks.components(separatedBy: "</table>").first)
        // A header and the ten days (the warm-up is part of the first).
        #expect(perDay.components(separatedBy: "<tr>").count - 1 == 1 + 10)
        let rejected = ms[0].promotions.count - published.count
        #expect(checks.contains("\(ReportText.count(rejected)) of the \(ReportText.count(2_300)) checks did not publish; the first 60:"))
        #expect(checks.components(separatedBy: "<td>rejected</td>").count - 1 == 60)
        // Per block of events, checks before the first evaluated event are the warm-up's.
        var few = try ReportFixture.runs(days: 2)[0].metrics
        few.promotions = ReportFixture.promotions(every: 10, count: 2_300, seed: 4)
        let perBlock = try #require(ReportTables.checks(few).components(separatedBy: "</table>").first)
        #expect(perBlock.contains("<th scope=\"row\">warm-up</th>") && perBlock.contains("<th scope=\"row\">events 2,048–4,047</th>"))
        let counted = perBlock.components(separatedBy: "<tr>").dropFirst(2).map { row in
            Int(row.components(separatedBy: "<td>")[1].components(separatedBy: "</td>")[0].replacingOccurrences(of: ",", with: ""))!
        }
        #expect(counted.reduce(0, +) == 2_300)
    }

    /// Alert rates decades apart (a cold model alerting on almost everything next to a trained
    /// one) get a log axis, ticks at powers of ten.
    @Test func alertRatesDecadesApartGetALogAxis() throws {
        #expect(PlotAxis.logarithmic("r", smallest: 0.003, largest: 0.98, format: .percent).ticks.map(\.label) == ["0.1%", "1%", "10%", "100%"])
        #expect(PlotAxis.logarithmic("r", smallest: 0.02, largest: 0.3, format: .percent).ticks.map(\.label)
                    == ["1%", "2%", "5%", "10%", "20%", "50%", "100%"])
        var ms = try ReportFixture.runs().map(\.metrics)
        #expect(!ReportFigures.alertRateOverTime(ms).plot.y.logarithmic)
        for i in ms[1].timeline.periods.indices { ms[1].timeline.periods[i].alerts = ms[1].timeline.periods[i].events * 99 / 100 }
        for i in ms[0].timeline.periods.indices { ms[0].timeline.periods[i].alerts = ms[0].timeline.periods[i].events / 300 }
        let figure = ReportFigures.alertRateOverTime(ms)
        #expect(figure.plot.y.logarithmic && figure.caption.contains("Log scale"))
        #expect(figure.plot.y.position(0.01, from: 0, to: 300) == 100)  // one decade of the three above 0.1%
    }

    /// PR is drawn as the step function whose area is the AUPRC.
    @Test func thePRStepsEncloseTheAUPRC() throws {
        let m = try ReportFixture.runs()[0].metrics
        let steps = ReportFigures.steps(m.prCurve)
        var area = 0.0
        for (a, b) in zip(steps, steps.dropFirst()) where a.y == b.y { area += (b.x - a.x) * a.y }
        #expect(abs(area - (try #require(m.auprc))) < 1e-9)
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0.x == $1.x || $0.y == $1.y })  // only horizontal and vertical moves
    }

    /// Card precision is meaningless without card ids: n/a with the reason, never a number.
    @Test func metricsThatDoNotApplyReadNAWithTheReason() throws {
        let html = HTMLReport.render(try ReportFixture.runs(cards: false))
        #expect(html.contains("n/a</span> <span class=\"why\">(the input has no card ids, so events cannot be grouped by card)"))
        #expect(html.contains("Card precision@100: n/a, the input has no card ids"))
        let days = ReportTables.days(try ReportFixture.runs(cards: false).map(\.metrics))
        #expect(days.components(separatedBy: "<span class=\"na\">n/a</span>").count - 1 == 2 * 10)  // both runs, every day
        let withCards = HTMLReport.render(try ReportFixture.runs(cards: true))
        #expect(!withCards.contains("no card ids") && withCards.contains("card precision@k, mean over days</th><td>0."))
    }

    /// Long values wrap at their commas; differing settings are marked.
    @Test func configurationWrapsAndMarksDifferences() throws {
        let table = ReportTables.configuration(try ReportFixture.runs().map(\.metrics))
        #expect(table.contains(",<wbr>publish_every_labels=") || table.contains(",<wbr>"))
        #expect(table.contains("<tr class=\"differs\"><th scope=\"row\">freeze</th>"))
        #expect(!table.contains("<tr class=\"differs\"><th scope=\"row\">seed</th>"))
    }

    /// Publications (promoted only) are marked on both time plots, each with its version.
    @Test func promotionsAreMarkedOnTheTimeAxis() throws {
        let ms = try ReportFixture.runs().map(\.metrics)
        let promoted = ms[0].promotions.filter { $0.outcome == "promoted" }
        #expect(!promoted.isEmpty && promoted.count < ms[0].promotions.count)
        for figure in [ReportFigures.alertRateOverTime(ms), ReportFigures.auprcOverTime(ms)] {
            let svg = figure.plot.svg()
            // All of them fall after the warm-up, inside the axis.
            #expect(svg.components(separatedBy: "<g class=\"marker\">").count - 1 == promoted.count)
            for p in promoted { #expect(svg.contains("model version \(p.version) went live at \(p.eventTime)")) }
            #expect(figure.caption.contains("learning: \(promoted.count), frozen: 0"))
        }
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
