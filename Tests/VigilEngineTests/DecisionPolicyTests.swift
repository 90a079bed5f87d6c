import Testing
import VigilFeatures
import VigilML
@testable import VigilEngine

@Suite struct DecisionPolicyTests {
    let event = TransactionEvent(eventID: "e1", timestampMillis: 1_767_225_600_000, cardID: "c1", merchantID: "m1",
                                 amount: 2500, currency: "EUR", country: "RU")
    let reasons = ReasonList([RiskReason(kind: .reconstruction, name: "amount", weight: 9),
                              RiskReason(kind: .reconstruction, name: "card.amount_zscore", weight: 5)])

    @Test func thresholdsSplitAllowReviewBlock() throws {
        let policy = try DecisionPolicy()
        #expect(policy.outcome(risk: 0) == .allow)
        #expect(policy.outcome(risk: 0.4999) == .allow)
        #expect(policy.outcome(risk: 0.5) == .review)
        #expect(policy.outcome(risk: 0.8999) == .review)
        #expect(policy.outcome(risk: 0.9) == .block)
        #expect(policy.outcome(risk: 1) == .block)
    }

    @Test func aDecisionCarriesEverythingTheAuditRowNeeds() throws {
        let policy = try DecisionPolicy()
        let d = policy.decide(event, risk: 0.6, score: Score(anomaly: 4.2, fraudProbability: 0.3), reasons: reasons, modelVersion: 7)
        #expect(d.eventID == "e1" && d.cardID == "c1" && d.merchantID == "m1" && d.amount == 2500 && d.currency == "EUR")
        #expect(d.eventTimeMillis == 1_767_225_600_000)
        #expect(d.risk == 0.6 && d.anomalyScore == 4.2 && d.fraudProbability == 0.3 && d.modelVersion == 7)
        #expect(d.outcome == .review && d.outcome.raisesAlert && d.rule == nil)
        #expect(d.reasons == reasons)
        #expect(d.reasonTexts == ["amount:reconstruction=9.0", "card.amount_zscore:reconstruction=5.0"])
    }

    @Test func rulesOnlyMakeDecisionsStricterAndComeFirstInTheReasons() throws {
        let cap = DecisionRule(name: "amount_cap", condition: .amountAbove(1000, currency: "EUR"), outcome: .block)
        let usdCap = DecisionRule(name: "usd_cap", condition: .amountAbove(10, currency: "USD"), outcome: .block)
        let country = DecisionRule(name: "watch_country", condition: .countryIn(["RU"]), outcome: .review)
        let policy = try DecisionPolicy(configuration: .init(rules: [country, usdCap, cap]))
        let d = policy.decide(event, risk: 0.1, score: Score(), reasons: reasons, modelVersion: 1)
        #expect(d.outcome == .block)
        #expect(d.rule == "amount_cap")
        #expect(d.reasons.map(\.name) == ["rule.amount_cap", "rule.watch_country", "amount", "card.amount_zscore"])
        #expect(d.reasons[0].kind == .rule && d.reasons[0].weight == 2500)
        // A review rule never lowers a block by the models.
        let reviewOnly = try DecisionPolicy(configuration: .init(rules: [country]))
        #expect(reviewOnly.decide(event, risk: 0.95, score: Score(), reasons: reasons, modelVersion: 1).outcome == .block)
        // Nothing fires for a small amount elsewhere.
        var small = event
        small.amount = 5
        small.country = "FR"
        let quiet = policy.decide(small, risk: 0.1, score: Score(), reasons: reasons, modelVersion: 1)
        #expect(quiet.outcome == .allow && quiet.rule == nil && quiet.reasons == reasons)
    }

    @Test func badConfigurationsAreRejected() {
        #expect(throws: EngineError.self) { try DecisionPolicy(configuration: .init(reviewThreshold: 0.9, blockThreshold: 0.5)) }
        #expect(throws: EngineError.self) { try DecisionPolicy(configuration: .init(reviewThreshold: .nan)) }
        #expect(throws: EngineError.self) { try DecisionPolicy(configuration: .init(blockThreshold: 1.5)) }
        #expect(throws: EngineError.self) {
            try DecisionPolicy(configuration: .init(rules: [DecisionRule(name: "x", condition: .amountAbove(.infinity, currency: nil))]))
        }
        #expect(throws: EngineError.self) {
            try DecisionPolicy(configuration: .init(rules: [DecisionRule(name: "x", condition: .countryIn([]), outcome: .allow)]))
        }
    }

    @Test func reasonListKeepsFourAndPrependPushesTheWeakestOut() {
        var list = ReasonList()
        for i in 0..<6 { list.append(RiskReason(kind: .classifier, name: "f\(i)", weight: Float(i))) }
        #expect(list.map(\.name) == ["f0", "f1", "f2", "f3"])
        list.prepend(RiskReason(kind: .rule, name: "r", weight: 1))
        #expect(list.map(\.name) == ["r", "f0", "f1", "f2"])
    }
}
