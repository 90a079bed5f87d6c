// The plots over time: alert rate and AUPRC per period, with the learner's publications marked.
import VigilFeatures
import VigilML

extension ReportFigures {
    /// Where periods and publications sit on the time axis of the runs' shared unit.
    struct TimeAxis {
        var axis: PlotAxis
        var unit: String
        /// Runs whose timeline is in another unit (a compared configuration that evaluates
        /// fewer days): left out of the plots, named in the caption.
        var skipped: [String]

        init(_ runs: [ReplayMetrics]) {
            let unit = runs.first?.timeline.unit ?? "events"
            self.unit = unit
            skipped = runs.filter { $0.timeline.unit != unit }.map(\.name)
            let periods = runs.filter { $0.timeline.unit == unit }.flatMap(\.timeline.periods)
            if unit == "day" {
                let days = periods.compactMap { $0.date.flatMap(TimeAxis.day) }
                axis = .days(firstDay: days.min() ?? 0, lastDay: days.max() ?? 0)
            } else {
                let first = periods.compactMap(\.firstEvent).min() ?? 0, end = periods.compactMap(\.endEvent).max() ?? 1
                // From the first evaluated event (after the warm-up), ticks at round counts.
                axis = .linear("position in the stream (events replayed)", lower: Double(first), upper: Double(end), targetTicks: 6, format: .count)
            }
        }

        static func day(_ date: String) -> Int64? {
            EventTimestamp.parseRFC3339(date + "T00:00:00Z").map { $0 / 86_400_000 }
        }

        /// The middle of a period.
        func x(_ p: ReplayMetrics.Period) -> Double? {
            if unit == "day" { return p.date.flatMap(TimeAxis.day).map { Double($0) + 0.5 } }
            guard let first = p.firstEvent, let end = p.endEvent else { return nil }
            return Double(first + end) / 2
        }

        func x(_ promotion: ReplayMetrics.Promotion) -> Double? {
            if unit == "day" {
                return EventTimestamp.parseRFC3339(promotion.eventTime).map { Double($0) / 86_400_000 }
            }
            return Double(promotion.afterEvents)
        }

        func name(_ p: ReplayMetrics.Period) -> String {
            if let date = p.date { return date }
            return "events \(ReportText.count(p.firstEvent ?? 0))–\(ReportText.count(max(0, (p.endEvent ?? 1) - 1)))"
        }

        var periodWords: String { unit == "day" ? "per UTC day" : "per block of events" }
    }

    /// Rates further apart than this (largest over smallest above zero) get a log axis, so a
    /// configuration alerting on 0.3% stays readable next to one alerting on nearly everything.
    static let logScaleSpread = 30.0

    static func alertRateOverTime(_ runs: [ReplayMetrics]) -> Figure {
        let time = TimeAxis(runs)
        let rate: (ReplayMetrics.Period) -> Double? = { $0.events > 0 ? Double($0.alerts) / Double($0.events) : nil }
        let rates = runs.filter { $0.timeline.unit == time.unit }.flatMap { $0.timeline.periods.compactMap(rate) }
        let top = rates.max() ?? 0.01, smallest = rates.filter { $0 > 0 }.min() ?? top
        let logScale = smallest > 0 && top / smallest >= logScaleSpread
        let y: PlotAxis = logScale ? .logarithmic("alerts / evaluated events (log scale)", smallest: smallest, largest: top, format: .percent)
            : .linear("alerts / evaluated events", upper: max(top, 0.001), format: .percent)
        var plot = SVGPlot(title: "Alert rate \(time.periodWords)", x: time.axis, y: y)
        addPeriods(runs, time, to: &plot, value: rate)
        var what = "Events the policy sent to review or block, as a share of the period's evaluated events."
        if logScale { what += " Log scale: the rates differ by more than \(Int(logScaleSpread))×." }
        return Figure(plot: plot, caption: caption(what, runs, time))
    }

    static func auprcOverTime(_ runs: [ReplayMetrics]) -> Figure {
        let time = TimeAxis(runs)
        let fraudRate: (ReplayMetrics.Period) -> Double? = { $0.events > 0 ? Double($0.frauds) / Double($0.events) : nil }
        let top = runs.flatMap { $0.timeline.periods.compactMap(\.auprc) }.max() ?? 1
        var y = PlotAxis.linear("AUPRC", upper: max(top, 0.05))
        if y.upper > 1 { y = .linear("AUPRC", upper: 1, fixedUpper: true) }
        var plot = SVGPlot(title: "AUPRC \(time.periodWords)", x: time.axis, y: y)
        addPeriods(runs, time, to: &plot, value: \.auprc)
        if let first = runs.first(where: { $0.timeline.unit == time.unit }) {
            plot.series.insert(.init(name: "no skill (the period's fraud rate)", color: reference, stroke: .dashed,
                                     segments: segments(first.timeline.periods, time, fraudRate)), at: 0)
        }
        return Figure(plot: plot, caption: caption("Each period's own AUPRC (gaps: periods without frauds); dots give the counts on hovering.", runs, time))
    }

    /// One line with dots per run, and its publications as markers.
    static func addPeriods(_ runs: [ReplayMetrics], _ time: TimeAxis, to plot: inout SVGPlot, value: (ReplayMetrics.Period) -> Double?) {
        for (i, m) in runs.enumerated() where m.timeline.unit == time.unit {
            let dots = m.timeline.periods.compactMap { p -> SVGPlot.Dot? in
                guard let x = time.x(p), let v = value(p) else { return nil }
                return SVGPlot.Dot(point: CurvePoint(x: x, y: v), note: "\(m.name), \(time.name(p)): " + periodNote(p))
            }
            plot.series.append(.init(name: m.name, color: color(i), segments: segments(m.timeline.periods, time, value), dots: dots))
            let published = m.promotions.filter { $0.outcome == "promoted" }
            guard !published.isEmpty else { continue }
            if published.count <= maximumMarkers {
                plot.markers += published.compactMap { p in
                    time.x(p).map { SVGPlot.Marker(x: $0, color: color(i), note: "\(m.name): model version \(p.version) went live at "
                        + "\(p.eventTime), after \(ReportText.count(p.afterEvents)) events, \(ReportText.count(p.labelsLearnt)) labels learnt") }
                }
                plot.markerLegend.append(("model published (\(m.name))", color(i), false))
            } else {
                plot.rugs.append(SVGPlot.Rug(xs: published.compactMap(time.x), color: color(i),
                                             note: "\(m.name): \(ReportText.count(published.count)) models published, versions "
                                                + "\(published.first!.version) to \(published.last!.version)"))
                plot.markerLegend.append(("model published (\(m.name)), one tick each", color(i), true))
            }
        }
    }

    /// More publications than this in one run are drawn as a rug of ticks, not lines across the plot.
    static let maximumMarkers = 24

    /// Consecutive periods with a value, as lines; a period without one breaks the line.
    static func segments(_ periods: [ReplayMetrics.Period], _ time: TimeAxis, _ value: (ReplayMetrics.Period) -> Double?) -> [[CurvePoint]] {
        var out: [[CurvePoint]] = [[]]
        for p in periods {
            if let x = time.x(p), let v = value(p) { out[out.count - 1].append(CurvePoint(x: x, y: v)) } else if !out[out.count - 1].isEmpty { out.append([]) }
        }
        return out.filter { !$0.isEmpty }
    }

    static func periodNote(_ p: ReplayMetrics.Period) -> String {
        var s = "\(ReportText.count(p.events)) events, \(ReportText.count(p.frauds)) frauds, \(ReportText.count(p.alerts)) alerts"
        if p.events > 0 { s += " (\(ReportText.percent(Double(p.alerts) / Double(p.events))))" }
        return s + ", AUPRC " + (p.auprc.map(ReportText.metric) ?? "n/a (no frauds)")
    }

    static func caption(_ what: String, _ runs: [ReplayMetrics], _ time: TimeAxis) -> String {
        var s = ReportText.escape(what)
        if time.unit == "events", let size = runs.first?.timeline.eventsPerPeriod {
            s += " Blocks of \(ReportText.count(size)) events: the evaluated events span fewer than "
                + "\(MetricsBuilder.minimumDaysForDailyTimeline) days."
        }
        let counts = runs.map { m in (m.name, m.promotions.filter { $0.outcome == "promoted" }) }
        let total = counts.map(\.1.count).reduce(0, +)
        if total > 0 {
            let shape = counts.contains { $0.1.count > maximumMarkers } ? "Ticks along the top" : "Triangles and dashed lines"
            s += " \(shape): the learner published a model ("
                + counts.map { "\(ReportText.escape($0.0)): \(ReportText.count($0.1.count))" }.joined(separator: ", ") + ")"
            let early = counts.map { c in c.1.filter { p in (time.x(p) ?? 0) < time.axis.lower }.count }.reduce(0, +)
            s += early > 0 ? "; \(early) before the evaluated events are not shown." : "."
        } else {
            s += " No model was published."
        }
        if !time.skipped.isEmpty { s += " Not shown (timeline in another unit): " + time.skipped.map(ReportText.escape).joined(separator: ", ") + "." }
        return s
    }
}
