// A self-contained HTML report: tables and inline SVG plots, no scripts, no network references.
import Foundation
import VigilML

/// Renders one or more replays (a `--compare` run shows two side by side in every table and plot).
public enum HTMLReport {
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]

    public static func render(_ runs: [(metrics: ReplayMetrics, timing: ReplayTiming?)]) -> String {
        var h = """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>Vigil replay: \(esc(runs.map(\.metrics.name).joined(separator: " vs ")))</title>
            <style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
            th{background:#f4f4f4}.plots{display:flex;flex-wrap:wrap;gap:1em}svg{background:#fff;border:1px solid #ddd}</style></head><body>
            <h1>Vigil replay</h1>\n
            """
        h += table(["", ] + runs.map { esc($0.metrics.name) }, rows: [
            ("events", runs.map { "\($0.metrics.events)" }),
            ("evaluated (after warm-up)", runs.map { "\($0.metrics.evaluatedEvents)" }),
            ("frauds", runs.map { "\($0.metrics.frauds)" }),
            ("fraud rate", runs.map { f($0.metrics.fraudRate) }),
            ("AUPRC", runs.map { f($0.metrics.auprc) }),
            ("AUPRC, first / second half", runs.map { "\(f($0.metrics.auprcFirstHalf)) / \(f($0.metrics.auprcSecondHalf))" }),
            ("ROC-AUC", runs.map { f($0.metrics.rocAUC) }),
            ("alert rate (policy)", runs.map { f($0.metrics.alertRate) }),
            ("labels delivered", runs.map { "\($0.metrics.labelsDelivered)" }),
            ("final model version", runs.map { "\($0.metrics.finalModelVersion)" }),
            ("throughput (events/s)", runs.map { $0.timing.map { String(format: "%.0f", $0.eventsPerSecond) } ?? "-" }),
        ])
        h += "<h2>Alert budgets</h2>"
        h += table(["budget"] + runs.flatMap { ["\(esc($0.metrics.name)) precision", "recall"] },
                   rows: (runs.first?.metrics.budgets ?? []).indices.map { i in
                       (String(format: "%.2f%%", runs[0].metrics.budgets[i].budget * 100),
                        runs.flatMap { r in i < r.metrics.budgets.count ? [f(r.metrics.budgets[i].precision), f(r.metrics.budgets[i].recall)] : ["-", "-"] })
                   })
        h += "<h2>Plots</h2><div class=\"plots\">"
        h += plot(title: "Precision–recall", xLabel: "recall", yLabel: "precision", series: runs.map { $0.metrics.prCurve })
        h += plot(title: "ROC", xLabel: "false positive rate", yLabel: "true positive rate", series: runs.map { $0.metrics.rocCurve })
        h += plot(title: "Alert rate per day", xLabel: "day", yLabel: "alerts / events", series: runs.map { r in
            r.metrics.days.enumerated().map { CurvePoint(x: Double($0.offset), y: $0.element.events > 0 ? Double($0.element.alerts) / Double($0.element.events) : 0) }
        }, xMax: Double(max(1, (runs.map(\.metrics.days.count).max() ?? 1) - 1)), yMax: nil)
        for (i, r) in runs.enumerated() { h += histogram(r.metrics, color: colors[i % colors.count]) }
        h += "</div><h2>Legend</h2><p>" + runs.enumerated().map { "<span style=\"color:\(colors[$0.offset % colors.count])\">■</span> \(esc($0.element.metrics.name))" }.joined(separator: " &nbsp; ") + "</p>"
        h += "<h2>Per day</h2>"
        h += table(["date"] + runs.flatMap { ["\(esc($0.metrics.name)) events", "frauds", "alerts", "card precision@\($0.metrics.cardsPerDayK)"] },
                   rows: (runs.first?.metrics.days ?? []).map { day in
                       (day.date, runs.flatMap { r in
                           guard let d = r.metrics.days.first(where: { $0.date == day.date }) else { return ["-", "-", "-", "-"] }
                           return ["\(d.events)", "\(d.frauds)", "\(d.alerts)", r.metrics.cardPrecisionApplicable ? f(d.cardPrecisionAtK) : "n/a (no card column)"]
                       })
                   })
        for r in runs {
            h += "<h2>Training rounds: \(esc(r.metrics.name))</h2>"
            h += table(["applied after events", "trained on events", "event time", "check", "labels learnt", "outcome", "version", "detail"], rows: r.metrics.promotions.map {
                ("\($0.afterEvents)", ["\($0.trainedOnEvents)", esc($0.eventTime), "\($0.round)", "\($0.labelsLearnt)", $0.outcome, "\($0.version)", esc($0.detail)])
            })
            h += "<h2>Configuration: \(esc(r.metrics.name))</h2>"
            h += table(["setting", "value"], rows: r.metrics.configuration.keys.sorted().map { (esc($0), [esc(r.metrics.configuration[$0]!)]) })
        }
        return h + "</body></html>\n"
    }

    static func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func table(_ header: [String], rows: [(String, [String])]) -> String {
        var t = "<table><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr>"
        for (first, rest) in rows { t += "<tr><th>\(first)</th>" + rest.map { "<td>\($0)</td>" }.joined() + "</tr>" }
        return t + "</table>\n"
    }

    static let width = 360.0, height = 280.0, margin = 40.0

    static func frame(_ title: String, _ xLabel: String, _ yLabel: String) -> String {
        let w = width, h = height, m = margin
        return """
            <svg width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))">
            <text x="\(w / 2)" y="16" text-anchor="middle" font-size="13">\(esc(title))</text>
            <line x1="\(m)" y1="\(h - m)" x2="\(w - 10)" y2="\(h - m)" stroke="#444"/><line x1="\(m)" y1="25" x2="\(m)" y2="\(h - m)" stroke="#444"/>
            <text x="\(w / 2)" y="\(h - 8)" text-anchor="middle" font-size="11">\(esc(xLabel))</text>
            <text x="12" y="\(h / 2)" font-size="11" transform="rotate(-90 12 \(h / 2))" text-anchor="middle">\(esc(yLabel))</text>\n
            """
    }

    static func plot(title: String, xLabel: String, yLabel: String, series: [[CurvePoint]], xMax: Double = 1, yMax: Double? = 1) -> String {
        let top = yMax ?? max(1e-9, series.flatMap { $0.map(\.y) }.max() ?? 1)
        var s = frame(title, xLabel, yLabel)
        s += "<text x=\"\(margin - 4)\" y=\"30\" text-anchor=\"end\" font-size=\"10\">\(String(format: "%.3g", top))</text>"
        s += "<text x=\"\(margin - 4)\" y=\"\(height - margin)\" text-anchor=\"end\" font-size=\"10\">0</text>"
        for (i, points) in series.enumerated() where !points.isEmpty {
            let coords = points.map { p in
                String(format: "%.1f,%.1f", margin + p.x / max(xMax, 1e-9) * (width - margin - 10),
                       (height - margin) - p.y / top * (height - margin - 25))
            }
            s += "<polyline fill=\"none\" stroke=\"\(colors[i % colors.count])\" stroke-width=\"1.5\" points=\"\(coords.joined(separator: " "))\"/>\n"
        }
        return s + "</svg>\n"
    }

    /// Risk histograms, fraud and legit each as shares of their own class.
    static func histogram(_ m: ReplayMetrics, color: String) -> String {
        var s = frame("Risk: fraud (solid) vs legit (light), \(m.name)", "risk 0 … 1", "share of class")
        let bins = m.riskHistogram.fraud.count
        let fraudTotal = max(1, m.riskHistogram.fraud.reduce(0, +)), legitTotal = max(1, m.riskHistogram.legit.reduce(0, +))
        let shares = (0..<bins).map { (Double(m.riskHistogram.fraud[$0]) / Double(fraudTotal), Double(m.riskHistogram.legit[$0]) / Double(legitTotal)) }
        let top = max(1e-9, shares.map { max($0.0, $0.1) }.max() ?? 1)
        let bw = (width - margin - 10) / Double(bins)
        for (i, (fr, lg)) in shares.enumerated() {
            let x = margin + Double(i) * bw, plotH = height - margin - 25
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#999\" opacity=\"0.4\"/>", x, height - margin - lg / top * plotH, bw / 2, lg / top * plotH)
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" ", x + bw / 2, height - margin - fr / top * plotH, bw / 2, fr / top * plotH)
                + "fill=\"\(color)\"/>"
        }
        return s + "</svg>\n"
    }
}
