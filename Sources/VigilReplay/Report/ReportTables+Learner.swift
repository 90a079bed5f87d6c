// The learner's publication checks: every one when they are few, else counts per period and
// the checks that did not publish (a learner that publishes every few batches makes thousands).
import VigilFeatures

extension ReportTables {
    /// Up to this many checks are listed one by one.
    static let maximumCheckRows = 60

    static func checks(_ m: ReplayMetrics) -> String {
        guard !m.promotions.isEmpty else { return "<p>No publication checks (the learner was frozen, or too few labels arrived).</p>\n" }
        if m.promotions.count <= maximumCheckRows { return checkList(m.promotions) }
        let exceptions = m.promotions.filter { $0.outcome != "promoted" }
        var h = checksPerPeriod(m)
        h += "<p>\(ReportText.count(exceptions.count)) of the \(ReportText.count(m.promotions.count)) checks did not publish"
        h += exceptions.count > maximumCheckRows ? "; the first \(maximumCheckRows):</p>" : (exceptions.isEmpty ? ".</p>" : ":</p>")
        if !exceptions.isEmpty { h += checkList(Array(exceptions.prefix(maximumCheckRows))) }
        return h + "<p class=\"why\">Every check, with its detail, is in metrics.json (promotions).</p>\n"
    }

    static func checkList(_ checks: [ReplayMetrics.Promotion]) -> String {
        let rows = checks.map { p in
            Row(cells: ["\(p.round)", p.outcome, "\(p.version)", ReportText.escape(p.eventTime), ReportText.count(p.afterEvents),
                        ReportText.count(p.labelsLearnt), "<span class=\"text\">\(ReportText.wrappable(p.detail))</span>"],
                mark: p.outcome == "promoted" ? "promoted" : nil)
        }
        let head = "<tr><th>check</th><th>outcome</th><th>model version</th><th>event time</th><th>live after event</th><th>labels learnt</th><th>detail</th></tr>"
        return table(head: head, rows)
    }

    static let outcomes = ["promoted", "rejected", "reset", "stale", "followed"]

    /// Checks by outcome in each of the timeline's periods (by event time per day, by position
    /// per block of events); checks before the first period are counted as the warm-up's.
    static func checksPerPeriod(_ m: ReplayMetrics) -> String {
        let periods = m.timeline.periods
        func period(_ p: ReplayMetrics.Promotion) -> Int {
            if m.timeline.unit == "day" {
                let date = String(p.eventTime.prefix(10))
                return periods.firstIndex { ($0.date ?? "") >= date }.map { periods[$0].date == date ? $0 : $0 - 1 } ?? periods.count - 1
            }
            return periods.lastIndex { ($0.firstEvent ?? 0) <= p.afterEvents } ?? -1
        }
        var counts: [Int: [String: Int]] = [:], last: [Int: Int64] = [:]
        for p in m.promotions {
            let k = period(p)
            counts[k, default: [:]][p.outcome, default: 0] += 1
            last[k] = p.version
        }
        let rows = counts.keys.sorted().map { k in
            let name = k < 0 ? "warm-up" : (periods[k].date ?? "events \(ReportText.count(periods[k].firstEvent ?? 0))–\(ReportText.count(max(0, (periods[k].endEvent ?? 1) - 1)))")
            return Row(cells: [name, ReportText.count(counts[k]!.values.reduce(0, +))] + outcomes.map { ReportText.count(counts[k]![$0] ?? 0) } + ["\(last[k]!)"])
        }
        let unit = m.timeline.unit == "day" ? "UTC date" : "events"
        let head = "<tr><th>\(unit)</th><th>checks</th>" + outcomes.map { "<th>\($0)</th>" }.joined() + "<th>live version after</th></tr>"
        return table(head: head, rows, caption: "Publication checks per period, by outcome.")
    }
}
