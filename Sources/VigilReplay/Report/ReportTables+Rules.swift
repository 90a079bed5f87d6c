// The report's rules table (`--rules`): per rule, its fires over the evaluated events, how many
// were known fraud, precision and recall; and the decisions changed against a baseline rule set.

extension ReportTables {
    static func rules(_ runs: [ReplayMetrics]) -> String {
        guard runs.contains(where: { $0.rules != nil }) else { return "" }
        let names = runs.flatMap { ($0.rules ?? []).map(\.name) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let rows = names.map { name in
            Row(cells: [ReportText.escape(name)] + runs.flatMap { m -> [String] in
                guard let r = m.rules?.first(where: { $0.name == name }) else { return ["–", "–", "–", "–"] }
                return ["\(r.mode) \(r.outcome)", ReportText.count(r.hits) + " <span class=\"why\">(\(ReportText.count(r.fraudHits)) fraud)</span>",
                        r.precision.map(ReportText.metric) ?? ReportText.notApplicable("no fire with a known truth"),
                        r.recall.map(ReportText.metric) ?? ReportText.notApplicable("no known fraud")]
            })
        }
        var caption = "Fires over the evaluated events; precision: fraud among fires with a known truth; recall: share of the known frauds the rule fired on. "
            + "Shadow rules are counted like the others but decided nothing."
        for m in runs {
            guard let c = m.ruleChanges else { continue }
            let detail = c.byChange.sorted { $0.key < $1.key }.map { "\($0.key) \(ReportText.count($0.value))" }.joined(separator: ", ")
            caption += " \(ReportText.escape(m.name)): \(ReportText.count(c.changed)) decisions differ from the baseline rules"
                + (detail.isEmpty ? "." : " (\(ReportText.escape(detail))).")
        }
        return "<h3>Rules</h3>" + table(head: head("rule", runs: runs, columns: ["mode", "fires", "precision", "recall"]), rows, caption: caption)
    }
}
