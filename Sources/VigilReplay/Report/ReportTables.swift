// The report's tables: runs side by side in columns, cells that wrap, n/a with its reason.
import VigilML

enum ReportTables {
    typealias Run = (metrics: ReplayMetrics, timing: ReplayTiming?)

    struct Row {
        /// HTML; the first cell heads the row.
        var cells: [String]
        /// A class for the row (`differs`, `promoted`), or nil.
        var mark: String? = nil
    }

    static func table(head: String, _ rows: [Row], caption: String? = nil) -> String {
        var t = "<table>"
        if let caption { t += "<caption>\(caption)</caption>" }
        t += "<thead>\(head)</thead><tbody>"
        for row in rows {
            t += row.mark.map { "<tr class=\"\($0)\">" } ?? "<tr>"
            t += "<th scope=\"row\">\(row.cells.first ?? "")</th>" + row.cells.dropFirst().map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return t + "</tbody></table>\n"
    }

    /// One header row, or with several runs a row of run names over their columns.
    static func head(_ first: String, runs: [ReplayMetrics], columns: [String]) -> String {
        let e = ReportText.escape
        if runs.count == 1 { return "<tr><th>\(first)</th>" + columns.map { "<th>\($0)</th>" }.joined() + "</tr>" }
        return "<tr><th rowspan=\"2\">\(first)</th>"
            + runs.enumerated().map { "<th colspan=\"\(columns.count)\" class=\"run\">\(swatch($0.offset))\(e($0.element.name))</th>" }.joined()
            + "</tr><tr>" + runs.flatMap { _ in columns.map { "<th>\($0)</th>" } }.joined() + "</tr>"
    }

    static func swatch(_ run: Int) -> String {
        "<span class=\"swatch\" style=\"background:\(ReportFigures.color(run))\"></span>"
    }

    static let ci = "<span class=\"ci\">[95% CI]</span>"

    static func summary(_ runs: [Run]) -> String {
        let ms = runs.map(\.metrics)
        func row(_ name: String, _ value: (ReplayMetrics) -> String) -> Row { Row(cells: [name] + ms.map(value)) }
        var rows = [
            row("events replayed") { ReportText.count($0.events) },
            row("evaluated events") { m in
                ReportText.count(m.evaluatedEvents) + (m.warmUpEvents > 0 ? " <span class=\"why\">(from event \(ReportText.count(m.warmUpEvents)) on)</span>" : "")
            },
            row("frauds (fraud rate)") { m in
                ReportText.count(m.frauds) + (m.fraudRate.map { " (\(ReportText.percent($0)))" } ?? "")
            },
            row("AUPRC \(ci)") { ReportText.withInterval($0.auprc, $0.auprcInterval, missing: "no frauds among the evaluated events") },
            row("AUPRC of no skill (the fraud rate)") { $0.fraudRate.map(ReportText.metric) ?? ReportText.notApplicable("no evaluated events") },
            row("AUPRC, first / second half") { m in
                [m.auprcFirstHalf, m.auprcSecondHalf].map { $0.map(ReportText.metric) ?? ReportText.notApplicable("no frauds in that half") }.joined(separator: " / ")
            },
            row("ROC-AUC") { $0.rocAUC.map(ReportText.metric) ?? ReportText.notApplicable("needs frauds and legitimate events") },
            row("alert rate (review or block)") { $0.alertRate.map(ReportText.percent) ?? ReportText.notApplicable("no evaluated events") },
            row("card precision@k, mean over days") { m in
                guard m.cardPrecisionApplicable else { return ReportText.notApplicable("the input has no card ids, so events cannot be grouped by card") }
                let values = m.days.compactMap(\.cardPrecisionAtK)
                guard !values.isEmpty else { return ReportText.notApplicable("no evaluated days") }
                return ReportText.metric(values.reduce(0, +) / Double(values.count)) + " <span class=\"why\">(k = \(m.cardsPerDayK))</span>"
            },
            row("labels delivered (unmatched)") { "\(ReportText.count($0.labelsDelivered)) (\(ReportText.count($0.labelsUnmatched)))" },
            row("learner's publication checks") { m in
                var byOutcome: [String: Int] = [:]
                for p in m.promotions { byOutcome[p.outcome, default: 0] += 1 }
                let parts = ["promoted", "rejected", "reset", "stale", "followed"].compactMap { o in byOutcome[o].map { "\($0) \(o)" } }
                return ReportText.count(m.promotions.count) + (parts.isEmpty ? "" : ": " + parts.joined(separator: ", "))
            },
            row("final model version") { "\($0.finalModelVersion)" },
            row("malformed rows skipped") { ReportText.count($0.skippedRows) },
        ]
        rows.append(Row(cells: ["replay rate"] + runs.map { r in
            r.timing.map { "\(ReportText.count(Int($0.eventsPerSecond.rounded()))) events/s" } ?? ReportText.notApplicable("not timed")
        }))
        let head = "<tr><th></th>" + ms.enumerated().map { "<th class=\"run\">\(swatch($0.offset))\(ReportText.escape($0.element.name))</th>" }.joined() + "</tr>"
        return table(head: head, rows)
    }

    static func budgets(_ runs: [ReplayMetrics]) -> String {
        guard let first = runs.first else { return "" }
        let rows = first.budgets.indices.map { i in
            Row(cells: [ReportText.percent(first.budgets[i].budget) + " of events"] + runs.flatMap { m -> [String] in
                guard i < m.budgets.count else { return ["–", "–", "–"] }
                let b = m.budgets[i]
                return [ReportText.count(b.alerts),
                        ReportText.withInterval(b.precision, b.precisionInterval, missing: "no evaluated events"),
                        ReportText.withInterval(b.recall, b.recallInterval, missing: "no frauds among the evaluated events")]
            })
        }
        let bootstrap = first.bootstrap
        let caption = "The top-ranked share of evaluated events as alerts. Intervals: \(Int((bootstrap.level * 100).rounded()))% percentile "
            + "bootstrap over \(ReportText.count(bootstrap.replicates)) resamples of the events (seed \(bootstrap.seed)); events "
            + "are resampled as independent, so bursts of fraud on one card make the true uncertainty wider."
        return table(head: head("alert budget", runs: runs, columns: ["alerts", "precision \(ci)", "recall \(ci)"]), rows, caption: caption)
    }

    static func days(_ runs: [ReplayMetrics]) -> String {
        guard let first = runs.first else { return "" }
        let dates = Array(Set(runs.flatMap { $0.days.map(\.date) })).sorted()
        let rows = dates.map { date in
            Row(cells: [date] + runs.flatMap { m -> [String] in
                guard let d = m.days.first(where: { $0.date == date }) else { return ["–", "–", "–", "–"] }
                let rate = d.events > 0 ? " <span class=\"why\">(\(ReportText.percent(Double(d.alerts) / Double(d.events))))</span>" : ""
                let card = !m.cardPrecisionApplicable ? "<span class=\"na\">n/a</span>" : d.cardPrecisionAtK.map(ReportText.metric) ?? "–"
                return [ReportText.count(d.events), ReportText.count(d.frauds), ReportText.count(d.alerts) + rate, card]
            })
        }
        let caption = runs.contains { !$0.cardPrecisionApplicable }
            ? "Card precision@\(first.cardsPerDayK): n/a, the input has no card ids, so events cannot be grouped by card."
            : "Card precision@k: cards ranked by their highest risk that day; the share of the top k with a fraud that day."
        return table(head: head("UTC date", runs: runs, columns: ["events", "frauds", "alerts", "card precision@\(first.cardsPerDayK)"]), rows, caption: caption)
    }

    static func configuration(_ runs: [ReplayMetrics]) -> String {
        let keys = Array(Set(runs.flatMap(\.configuration.keys))).sorted()
        let rows = keys.map { key in
            let values = runs.map { $0.configuration[key] }
            return Row(cells: [ReportText.escape(key)] + values.map { v in v.map { "<span class=\"text\">\(ReportText.wrappable($0))</span>" } ?? "–" },
                       mark: runs.count > 1 && Set(values.map { $0 ?? "" }).count > 1 ? "differs" : nil)
        }
        let head = "<tr><th>setting</th>" + runs.enumerated().map { "<th class=\"run\">\(swatch($0.offset))\(ReportText.escape($0.element.name))</th>" }.joined() + "</tr>"
        return table(head: head, rows, caption: runs.count > 1 ? "Highlighted: settings that differ between the runs." : nil)
    }
}
