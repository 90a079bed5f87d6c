// The report page: one self-contained HTML file (inline CSS and SVG; no scripts, fonts, images
// or links), readable at 1280 px and printable on A4.
import VigilML

/// Renders one or more replays; a `--compare` run overlays them in every plot and puts them
/// side by side in every table, one colour each.
public enum HTMLReport {
    /// The page's sections, in order; in print each starts a page.
    static let sections = ["Summary", "Ranking", "Over time", "Per day", "Learner's publication checks", "Configuration"]

    public static func render(_ runs: [(metrics: ReplayMetrics, timing: ReplayTiming?)]) -> String {
        let ms = runs.map(\.metrics)
        let title = "Vigil replay: " + ms.map(\.name).joined(separator: " vs ")
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>\(ReportText.escape(title))</title>"
        h += "<style>\n\(ReportStyle.css)\n</style></head><body>\n"
        h += "<header><h1>\(ReportText.escape(title))</h1>\(lead(ms))</header>\n"

        h += section(0, ReportTables.summary(runs) + "<h3>Alert budgets</h3>" + ReportTables.budgets(ms) + ReportTables.rules(ms))
        h += section(1, figures([ReportFigures.precisionRecall(ms), ReportFigures.roc(ms), ReportFigures.riskDistribution(ms)]))
        h += section(2, figures([ReportFigures.alertRateOverTime(ms), ReportFigures.auprcOverTime(ms)]))
        h += section(3, ReportTables.days(ms))
        h += section(4, ms.map { m in (ms.count > 1 ? "<h3>\(ReportText.escape(m.name))</h3>" : "") + ReportTables.checks(m) }.joined())
        h += section(5, ReportTables.configuration(ms))
        return h + "</body></html>\n"
    }

    /// The runs with their colours, and what was evaluated.
    static func lead(_ runs: [ReplayMetrics]) -> String {
        var s = "<p class=\"runs\">" + runs.enumerated().map { i, m in
            "<span class=\"run\">\(ReportTables.swatch(i))\(ReportText.escape(m.name))</span>"
        }.joined() + "</p>"
        if let m = runs.first {
            let dates = m.days.map(\.date)
            s += "<p class=\"lead\">\(ReportText.count(m.evaluatedEvents)) evaluated events"
            if let first = dates.first, let last = dates.last { s += first == last ? " on \(first)" : " from \(first) to \(last)" }
            s += " (UTC event time), each scored before its label was visible; the first \(ReportText.count(m.warmUpEvents)) "
                + "events were scored and learnt from but not evaluated. Every figure here is in metrics.json, "
                + "which is byte-identical for the same input, options and seed.</p>"
        }
        return s
    }

    static func section(_ index: Int, _ body: String) -> String {
        let name = sections[index]
        let id = name.lowercased().filter { $0.isLetter || $0 == " " }.replacingOccurrences(of: " ", with: "-")
        return "<section id=\"\(id)\"><h2>\(ReportText.escape(name))</h2>\n\(body)</section>\n"
    }

    static func figures(_ figures: [ReportFigures.Figure]) -> String {
        "<div class=\"plots\">" + figures.map { "<figure>\($0.plot.svg())<figcaption>\($0.caption)</figcaption></figure>\n" }.joined() + "</div>\n"
    }
}
