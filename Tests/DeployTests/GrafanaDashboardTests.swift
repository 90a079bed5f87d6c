// deploy/grafana/vigil.json: an importable dashboard (datasource chosen on import) with the
// views the issue asks for. Its queries' metric names are checked against a live scrape in
// IntegrationTests/DeployMetricsTests.
import Foundation
import Testing

@Suite struct GrafanaDashboardTests {
    static func dashboard() throws -> [String: Any] {
        try #require(try DeployFiles.json("deploy/grafana/vigil.json") as? [String: Any])
    }

    static func panels() throws -> [[String: Any]] {
        let top = try #require(try Self.dashboard()["panels"] as? [[String: Any]])
        return top + top.flatMap { $0["panels"] as? [[String: Any]] ?? [] }
    }

    @Test func dashboardCoversThroughputLatencyLagAlertsAndModels() throws {
        let panels = try Self.panels()
        let queries = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(queries.count >= 10)
        func used(_ fragment: String) -> Bool { queries.contains { $0.contains(fragment) } }
        #expect(used("rate(vigil_events_scored_total"), "throughput")
        #expect(used("histogram_quantile(0.99") && used("vigil_end_to_end_latency_seconds_bucket"), "latency percentiles")
        #expect(used("vigil_consumer_lag_messages"), "lag")
        #expect(used("vigil_alerts_total"), "alert rate")
        #expect(used("vigil_model_version"), "model versions")
        #expect(used("vigil_api_request_duration_seconds_bucket") && used("histogram_quantile(0.999"), "scoring API latency")
        let titles = panels.compactMap { $0["title"] as? String }.joined(separator: " | ")
        for section in ["Throughput", "Latency", "Lag", "Alerts", "Models", "Scoring API"] { #expect(titles.contains(section), "no \(section) row") }
    }

    @Test func panelsAreWellFormed() throws {
        let dashboard = try Self.dashboard()
        #expect(dashboard["uid"] as? String == "vigil-serve")
        #expect(dashboard["schemaVersion"] is Int)
        var ids = Set<Int>()
        for panel in try Self.panels() {
            let id = try #require(panel["id"] as? Int)
            #expect(ids.insert(id).inserted, "duplicate panel id \(id)")
            let grid = try #require(panel["gridPos"] as? [String: Any])
            #expect((grid["x"] as? Int ?? -1) + (grid["w"] as? Int ?? 99) <= 24, "panel \(id) is wider than the grid")
            guard panel["type"] as? String != "row" else { continue }
            // Every query panel uses the dashboard's datasource variable, chosen on import.
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${datasource}", "panel \(id)")
            let targets = try #require(panel["targets"] as? [[String: Any]])
            #expect(!targets.isEmpty)
            for target in targets { #expect(((target["expr"] as? String) ?? "").isEmpty == false, "panel \(id)") }
        }
    }
}
