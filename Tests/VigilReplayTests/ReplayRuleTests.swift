// Replay's per-rule figures equal a brute-force count over the same events, and a baseline
// rule set gives the decisions a rule changes.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
@testable import VigilReplay

@Suite struct ReplayRuleTests {
    @Test func ruleMetricsEqualABruteForceCount() throws {
        let input = Support.simulated(transactions: 3_000)
        var c = Support.configuration()
        c.featureSpec = ReplayConfiguration.spec(for: input)
        let velocity = Rule(name: "velocity", expression: "card.count_1h >= 2 and amount > 50", outcome: .review)
        let big = Rule(name: "big", expression: "amount > 300", outcome: .block, mode: .shadow)
        let listed = Rule(name: "listed", expression: "merchant_id in list('watched')", outcome: .review)
        let watched = Set(input.events.prefix(400).map(\.merchantID).prefix(5))
        c.rules = [velocity, big, listed]
        c.ruleLists = RuleLists(["watched": watched])
        c.baselineRules = []
        let m = try ReplayRunner.run(input, configuration: c).metrics

        // Brute force: the raw values straight from a fresh extractor, the conditions in Swift.
        var extractor = try FeatureExtractor(spec: c.featureSpec)
        let count1h = FeatureReadings.slot(named: "card.count_1h")!
        let from = m.warmUpEvents
        var expected = ["velocity": (0, 0, 0), "big": (0, 0, 0), "listed": (0, 0, 0)]  // hits, fraud, legit
        var frauds = 0
        for (i, e) in input.events.enumerated() {
            let readings = extractor.extract(e).readings
            guard i >= from else { continue }
            let fraud = input.truth[i] == .fraud
            if fraud { frauds += 1 }
            for (name, fires) in [("velocity", readings[count1h] >= 2 && e.amount > 50), ("big", e.amount > 300), ("listed", watched.contains(e.merchantID))] where fires {
                expected[name]!.0 += 1
                if fraud { expected[name]!.1 += 1 } else { expected[name]!.2 += 1 }
            }
        }
        let rules = try #require(m.rules)
        #expect(rules.map(\.name) == ["velocity", "big", "listed"])
        for r in rules {
            let (hits, fraud, legit) = expected[r.name]!
            #expect(r.hits == hits && r.fraudHits == fraud && r.legitHits == legit, "\(r.name)")
            #expect(r.precision == (fraud + legit > 0 ? Double(fraud) / Double(fraud + legit) : nil))
            #expect(r.recall == Double(fraud) / Double(frauds))
        }
        #expect(rules.allSatisfy { $0.hits > 0 })
        #expect(m.frauds == frauds)
        // Against no rules, the changed decisions are the enforced fires the models had allowed
        // (a review rule never lowers a block, and the shadow rule changes nothing).
        let changes = try #require(m.ruleChanges)
        #expect(changes.changed > 0)
        #expect(changes.byChange.keys.allSatisfy { $0 == "allow->review" })
        #expect(changes.changed <= expected["velocity"]!.0 + expected["listed"]!.0)
        // The metrics file carries them, and the report has the table.
        let json = String(decoding: try m.encodedJSON(), as: UTF8.self)
        #expect(json.contains("\"fraud_hits\"") && json.contains("\"rule_changes\""))
        #expect(HTMLReport.render([(m, nil)]).contains("<h3>Rules</h3>"))
    }

    @Test func withoutRulesTheMetricsHaveNoRuleFigures() throws {
        let input = Support.simulated(transactions: 1_200)
        var c = Support.configuration()
        c.featureSpec = ReplayConfiguration.spec(for: input)
        let m = try ReplayRunner.run(input, configuration: c).metrics
        #expect(m.rules == nil && m.ruleChanges == nil)
        #expect(!HTMLReport.render([(m, nil)]).contains("<h3>Rules</h3>"))
    }

    @Test func anInvalidRuleIsAConfigurationError() {
        var c = Support.configuration()
        c.rules = [Rule(name: "bad", expression: "amount >", outcome: .review)]
        #expect(throws: ReplayError.self) { try ReplayRunner.run(Support.simulated(transactions: 600), configuration: c) }
    }
}
