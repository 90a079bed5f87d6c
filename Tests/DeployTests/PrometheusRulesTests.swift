// deploy/prometheus/alerts.yml: the five alerts the issue names are there and well formed,
// and, where promtool is installed (Debian package `prometheus`, or VIGIL_PROMTOOL), the
// rules pass `promtool check rules` and their unit tests in alerts.test.yml. Whether the
// metric names exist is checked against a live scrape in IntegrationTests/DeployMetricsTests.
import Foundation
import Testing

@Suite struct PrometheusRulesTests {
    static let promtool = DeployFiles.tool("promtool", override: "VIGIL_PROMTOOL")

    static func rules() throws -> [[String: Any]] {
        let file = try DeployFiles.yamlMapping("deploy/prometheus/alerts.yml")
        let groups = try #require(file["groups"] as? [[String: Any]])
        return groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
    }

    @Test func requiredAlertsArePresentAndWellFormed() throws {
        let alerts = try Self.rules().filter { $0["alert"] != nil }
        let names = Set(alerts.compactMap { $0["alert"] as? String })
        // lag growing, dead letters rising, no promotion, database commit latency, scoring stopped
        for name in ["VigilConsumerLagGrowing", "VigilDeadLettersRising", "VigilNoModelPromotion", "VigilDatabaseCommitSlow", "VigilScoringStopped",
                     "VigilApiLatencySLO"] {
            #expect(names.contains(name), "missing alert \(name)")
        }
        #expect(names.count == alerts.count, "duplicate alert names")
        for alert in alerts {
            let name = alert["alert"] as? String ?? "?"
            #expect(!((alert["expr"] as? String) ?? "").isEmpty, "\(name): no expr")
            #expect(alert["for"] is String, "\(name): no `for`, it would fire on one evaluation")
            #expect(["critical", "warning", "info"].contains((alert["labels"] as? [String: Any])?["severity"] as? String ?? ""), "\(name): severity")
            #expect(((alert["annotations"] as? [String: Any])?["summary"] as? String)?.isEmpty == false, "\(name): summary")
        }
    }

    @Test func everyAlertHasAUnitTest() throws {
        let tests = try DeployFiles.yamlMapping("deploy/prometheus/alerts.test.yml")
        #expect(tests["rule_files"] as? [String] == ["alerts.yml"])
        let cases = (tests["tests"] as? [[String: Any]] ?? []).flatMap { $0["alert_rule_test"] as? [[String: Any]] ?? [] }
        let tested = Set(cases.compactMap { $0["alertname"] as? String })
        let firing = Set(cases.filter { !(($0["exp_alerts"] as? [Any]) ?? []).isEmpty }.compactMap { $0["alertname"] as? String })
        for alert in try Self.rules().compactMap({ $0["alert"] as? String }) {
            #expect(tested.contains(alert) && firing.contains(alert), "\(alert) has no promtool case where it fires")
        }
    }

    @Test(.enabled(if: promtool != nil, "promtool is not installed (Debian package prometheus, or set VIGIL_PROMTOOL)"))
    func promtoolChecksAndUnitTestsPass() throws {
        let check = try DeployFiles.run(Self.promtool!, ["check", "rules", DeployFiles.url("deploy/prometheus/alerts.yml").path])
        #expect(check.status == 0, "\(check.output)")
        let test = try DeployFiles.run(Self.promtool!, ["test", "rules", DeployFiles.url("deploy/prometheus/alerts.test.yml").path])
        #expect(test.status == 0, "\(test.output)")
    }
}
