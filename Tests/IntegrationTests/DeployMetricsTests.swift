// The files under deploy/ against the real service: `vigil serve` runs with the Kubernetes
// ConfigMap's serve.json, as a login that only has the service role's grants (as deploy/
// sets it up), and the Prometheus rules and Grafana queries may only name metrics and labels
// its live /metrics offers.
import Foundation
import Testing
import VigilPostgres
import Yams

@Suite struct DeployMetricsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Series Prometheus makes itself, and labels it adds to every scraped series.
    static let prometheusMetrics: Set<String> = ["up"]
    static let prometheusLabels: Set<String> = ["instance", "job", "le", "__name__"]

    /// Every alert and recording-rule expression in deploy/prometheus/alerts.yml, and the
    /// names the recording rules define.
    static func ruleExpressions() throws -> (expressions: [String], recorded: Set<String>) {
        let text = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        let file = try #require(try Yams.load(yaml: text) as? [String: Any])
        let groups = try #require(file["groups"] as? [[String: Any]])
        let rules = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        return (rules.compactMap { $0["expr"] as? String }, Set(rules.compactMap { $0["record"] as? String }))
    }

    /// Every query of deploy/grafana/vigil.json: panel targets, annotations, template
    /// variables (`label_values(metric, label)` is Grafana's, read here by hand).
    static func dashboardQueries() throws -> (expressions: [String], labelValues: PromQLReferences) {
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/vigil.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let top = dashboard["panels"] as? [[String: Any]] ?? []
        let panels = top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
        var expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        expressions += ((dashboard["annotations"] as? [String: Any])?["list"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        var labelValues = PromQLReferences("")
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        let regex = try NSRegularExpression(pattern: #"^label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$"#)
        for variable in variables where variable["type"] as? String == "query" {
            let query = try #require(variable["definition"] as? String)
            let match = try #require(regex.firstMatch(in: query, range: NSRange(query.startIndex..., in: query)), "unexpected variable query \(query)")
            labelValues.metrics.insert(String(query[Range(match.range(at: 1), in: query)!]))
            labelValues.labels.insert(String(query[Range(match.range(at: 2), in: query)!]))
        }
        return (expressions, labelValues)
    }

    @Test func queryReferencesAreReadCorrectly() {
        let references = PromQLReferences(#"""
            histogram_quantile(0.99, sum by (le) (rate(vigil_db_commit_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval]))) > 0.25
            and on (job) sum without (partition) (vigil_consumer_lag_messages offset 5m) / clamp_min(vigil_missing_total, 1e-9)
            unless changes(max(vigil_model_version)[7d:1h]) == 0 or vigil:events_scored:rate5m
            """#)
        #expect(references.metrics == ["vigil_db_commit_duration_seconds_bucket", "vigil_consumer_lag_messages", "vigil_missing_total",
                                       "vigil_model_version", "vigil:events_scored:rate5m"])
        #expect(references.labels == ["le", "instance", "job", "partition"])
        let exported = ExportedNames(exposition: """
            # TYPE vigil_x_seconds histogram
            vigil_x_seconds_bucket{le="0.1"} 1
            # TYPE vigil_lag gauge
            vigil_lag{topic="t",partition="0"} 3
            """)
        #expect(exported.metrics == ["vigil_x_seconds", "vigil_x_seconds_bucket", "vigil_x_seconds_sum", "vigil_x_seconds_count", "vigil_lag"])
        #expect(exported.labels == ["le", "topic", "partition"])
    }

    @Test func alertsAndDashboardUseOnlyWhatAServingInstanceExports() async throws {
        let run = try await ServeUnderDeploySettings.start(events: 600)
        defer { run.finish() }
        let exposition = try await run.scrapeWhenDrained()
        let exported = ExportedNames(exposition: exposition)
        // The scrape is the real thing: every family docs/serve.md lists, with samples.
        #expect(exported.metrics.contains("vigil_consumer_lag_messages") && exported.metrics.contains("vigil_db_commit_duration_seconds_bucket"))

        let rules = try Self.ruleExpressions()
        let dashboard = try Self.dashboardQueries()
        let known = exported.metrics.union(Self.prometheusMetrics).union(rules.recorded)
        let knownLabels = exported.labels.union(Self.prometheusLabels)
        var all = PromQLReferences("")
        for expression in rules.expressions + dashboard.expressions {
            let references = PromQLReferences(expression)
            #expect(!references.metrics.isEmpty, "no metric found in \(expression)")
            #expect(references.metrics.isSubset(of: known), "not exported: \(references.metrics.subtracting(known).sorted()) in \(expression)")
            #expect(references.labels.isSubset(of: knownLabels), "no such label: \(references.labels.subtracting(knownLabels).sorted()) in \(expression)")
            all = all + references
        }
        #expect(dashboard.labelValues.metrics.isSubset(of: known) && dashboard.labelValues.labels.isSubset(of: knownLabels))
        // Histograms are queried through their series, never by the family name.
        for name in ["vigil_batch_duration_seconds", "vigil_end_to_end_latency_seconds", "vigil_db_commit_duration_seconds"] {
            #expect(!all.metrics.contains(name))
        }
        #expect(all.metrics.count >= 12, "\(all.metrics.sorted())")

        let summary = try await run.stop()
        #expect(summary.status == 0, "vigil serve exited \(summary.status): \(summary.errors)")
        #expect(summary.decided + summary.deadLettered == run.events, "\(summary)")
    }

    @Test func kubernetesServeConfigUsesOnlyDocumentedKeys() throws {
        let help = try ServeUnderDeploySettings.output(of: ["serve", "--help"])
        // "... --config FILE (JSON: brokers, database_url, ..., kafka {librdkafka properties}), then the environment"
        let flat = help.replacingOccurrences(of: "\n", with: " ")
        let start = try #require(flat.range(of: "(JSON:"))
        let end = try #require(flat.range(of: "), then the environment", range: start.upperBound..<flat.endIndex))
        let keys = Set(flat[start.upperBound..<end.lowerBound].split(separator: ",").compactMap {
            $0.split(separator: " ").first.map(String.init)
        })
        #expect(keys.contains("batch_size") && keys.contains("kafka"))
        let config = try ServeUnderDeploySettings.kubernetesServeConfig()
        #expect(!config.isEmpty)
        for key in config.keys { #expect(keys.contains(key), "\(key) is not a `vigil serve` config key") }
    }
}
