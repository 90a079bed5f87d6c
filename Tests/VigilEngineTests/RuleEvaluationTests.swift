// Rules evaluated on hand-worked events: values, arithmetic, lists, three-valued nulls, the
// priority of block / allow / review against the models, and shadow rules.
import Testing
import VigilFeatures
import VigilML
@testable import VigilEngine

@Suite struct RuleEvaluationTests {
    let event = TransactionEvent(eventID: "e1", timestampMillis: 1_767_225_600_000, cardID: "4111110000001", merchantID: "m1",
                                 amount: 600, currency: "EUR", mcc: "5967", country: "NG", channel: "web",
                                 extraFeatures: [ExtraFeature(key: "ip_risk", value: 0.9)])
    let modelReasons = ReasonList([RiskReason(kind: .reconstruction, name: "amount", weight: 9),
                                   RiskReason(kind: .classifier, name: "card.count_1h", weight: 2),
                                   RiskReason(kind: .classifier, name: "merchant.risk", weight: 1)])
    let lists = RuleLists(["blocked_bins": ["411111"], "trusted_merchants": ["m1"]])

    /// Readings with the named values set and every other one null.
    func readings(_ values: [String: Float]) -> [Float] {
        var r = [Float](repeating: .nan, count: FeatureReadings.count)
        for (name, v) in values { r[FeatureReadings.slot(named: name)!] = v }
        return r
    }

    func fires(_ expression: String, readings r: [String: Float] = [:], event e: TransactionEvent? = nil, risk: Float = 0.1) throws -> Bool {
        let policy = try DecisionPolicy()
        let set = try RuleSet(rules: [Rule(name: "r", expression: expression, outcome: .review)], lists: lists)
        let d = policy.decide(e ?? event, risk: risk, score: Score(anomaly: 3, fraudProbability: 0.25), reasons: ReasonList(),
                              modelVersion: 1, readings: readings(r), rules: set)
        return d.rule == "r"
    }

    @Test func valuesArithmeticAndLists() throws {
        #expect(try fires("amount > 500"))
        #expect(try !fires("amount > 600"))
        #expect(try fires("amount >= 600 and amount <= 600 and amount == 600 and amount != 601"))
        #expect(try fires("amount * 2 - 200 == 1000 and amount / 4 == 150 and amount % 7 == 5"))
        #expect(try fires("card.count_1h > 5", readings: ["card.count_1h": 6]))
        #expect(try !fires("card.count_1h > 5", readings: ["card.count_1h": 5]))
        #expect(try fires("amount > card.amount_sum_24h / 2", readings: ["card.amount_sum_24h": 1000]))
        #expect(try fires("country in ('RU', 'NG') and mcc == '5967' and channel != 'pos'"))
        #expect(try fires("card_bin in list('blocked_bins')"))
        #expect(try fires("merchant_id in list('trusted_merchants') and currency = 'EUR'"))
        #expect(try !fires("merchant_id not in list('trusted_merchants')"))
        #expect(try fires("features.ip_risk > 0.8"))
        #expect(try fires("risk < 0.2 and anomaly_score == 3 and fraud_probability == 0.25", risk: 0.1))
        #expect(try fires("amount in (1, 600, 7)"))
        #expect(try fires("time.hour == 0", readings: ["time.hour": 0]))
    }

    @Test func nullsAreUnknownAndUnknownNeverFires() throws {
        // No terminal, no customer, no `features.velocity`, and the readings below are null.
        #expect(try !fires("terminal_id == 't1'"))
        #expect(try !fires("terminal_id != 't1'"))
        #expect(try fires("terminal_id is null and customer_id is null"))
        #expect(try !fires("terminal.risk > 0.5"))
        #expect(try !fires("not (terminal.risk > 0.5)"))  // not unknown is unknown
        #expect(try !fires("terminal.risk + 1 > 0"))      // arithmetic with null is null
        #expect(try !fires("features.velocity < 100"))
        #expect(try fires("features.velocity is null"))
        #expect(try !fires("terminal_id in ('t1') or terminal_id not in ('t1')"))
        // Kleene logic: false and unknown = false, true or unknown = true, true and unknown = unknown.
        #expect(try fires("not (amount > 1000 and terminal.risk > 0.5)"))
        #expect(try fires("amount > 500 or terminal.risk > 0.5"))
        #expect(try !fires("amount > 500 and terminal.risk > 0.5"))
        #expect(try fires("terminal.risk is null or terminal.risk > 0.5"))
        // Division by zero is null.
        #expect(try !fires("amount / 0 > 1"))
        #expect(try fires("amount / card.transactions is null", readings: ["card.transactions": 0]))
        // A missing optional field of the event is null; present values compare normally.
        var bare = event
        bare.country = nil
        #expect(try !fires("country == 'NG'", event: bare))
        #expect(try !fires("country != 'NG'", event: bare))
        #expect(try fires("country is null", event: bare))
    }

    @Test func readingsFromTheExtractorAreRawAndNullWithoutHistory() throws {
        var extractor = try FeatureExtractor(spec: FeatureSpec.standard)
        var first = event
        first.terminalID = "t1"
        let v1 = extractor.extract(first)
        let slot = { (name: String) in FeatureReadings.slot(named: name)! }
        #expect(v1.readings[slot("card.transactions")] == 0)
        #expect(v1.readings[slot("card.seconds_since_last")].isNaN)
        #expect(v1.readings[slot("card.amount_zscore")].isNaN)
        #expect(!v1.readings[slot("terminal.risk")].isNaN)
        var second = event
        second.eventID = "e2"
        second.timestampMillis += 90_000
        second.country = nil
        let v2 = extractor.extract(second)
        #expect(v2.readings[slot("card.transactions")] == 1)
        #expect(v2.readings[slot("card.seconds_since_last")] == 90)  // seconds, not log1p of them
        #expect(v2.readings[slot("card.count_1h")] > 0.97 && v2.readings[slot("card.count_1h")] <= 1)
        #expect(v2.readings[slot("card.new_country")].isNaN)  // this event has no country
        #expect(v2.readings[slot("terminal.risk")].isNaN)     // nor a terminal
    }

    func decide(_ rules: [Rule], risk: Float) throws -> Decision {
        let policy = try DecisionPolicy()
        let set = try policy.ruleSet(adding: rules, lists: lists)
        return policy.decide(event, risk: risk, score: Score(), reasons: modelReasons, modelVersion: 1, readings: readings([:]), rules: set)
    }

    let block = Rule(name: "big_ng", expression: "amount > 500 and country == 'NG'", outcome: .block)
    let allow = Rule(name: "trusted", expression: "merchant_id in list('trusted_merchants')", outcome: .allow)
    let review = Rule(name: "web", expression: "channel == 'web'", outcome: .review)

    @Test func blockBeatsAllowBeatsReviewBeatsTheModels() throws {
        // Block rule over everything, reasons: the deciding rule, then the other enforced ones, then the models'.
        let all = try decide([review, allow, block], risk: 0.1)
        #expect(all.outcome == .block && all.rule == "big_ng")
        #expect(all.reasons.map(\.name) == ["rule.big_ng", "rule.web", "rule.trusted", "amount"])
        #expect(all.reasons[0].weight == 600 && all.reasons[1].weight == 1)
        // Allow beats a review rule and lowers the models' review...
        let allowed = try decide([review, allow], risk: 0.7)
        #expect(allowed.outcome == .allow && allowed.rule == "trusted")
        #expect(allowed.reasons.map(\.name) == ["rule.trusted", "rule.web", "amount", "card.count_1h"])
        // ...but never the models' block.
        let blocked = try decide([allow], risk: 0.95)
        #expect(blocked.outcome == .block && blocked.rule == nil)
        #expect(blocked.reasons.map(\.name) == ["rule.trusted", "amount", "card.count_1h", "merchant.risk"])
        // Review raises the models' allow; it leaves their block alone.
        #expect(try decide([review], risk: 0.1).outcome == .review)
        #expect(try decide([review], risk: 0.1).rule == "web")
        #expect(try decide([review], risk: 0.95).outcome == .block)
        // A block rule blocks whatever the models say.
        #expect(try decide([block], risk: 0).outcome == .block)
        // No rule fires: the models decide and the reasons are theirs alone.
        let quiet = try decide([Rule(name: "q", expression: "amount > 10000", outcome: .block)], risk: 0.6)
        #expect(quiet.outcome == .review && quiet.rule == nil && quiet.reasons == modelReasons)
    }

    @Test func shadowRulesChangeNothingButAreRecorded() throws {
        for risk: Float in [0.1, 0.7, 0.95] {
            let plain = try decide([], risk: risk)
            var shadowBlock = block
            shadowBlock.mode = .shadow
            var shadowAllow = allow
            shadowAllow.mode = .shadow
            let shadowed = try decide([shadowBlock, shadowAllow], risk: risk)
            #expect(shadowed.outcome == plain.outcome && shadowed.rule == nil)
            #expect(shadowed.reasons.map(\.name) == ["rule.big_ng", "rule.trusted", "amount", "card.count_1h"])
            #expect(shadowed.reasons.prefix(2).allSatisfy { $0.kind == .shadowRule })
            #expect(shadowed.reasonTexts[0] == "rule.big_ng:shadow_rule=600.0")
        }
        // Off rules are not evaluated at all.
        var off = block
        off.mode = .off
        let policy = try DecisionPolicy()
        let set = try policy.ruleSet(adding: [off])
        #expect(set.isEmpty && set.rules.count == 1)
    }

    @Test func hitsAreCountedPerRuleInTheTally() throws {
        let policy = try DecisionPolicy()
        var shadow = review
        shadow.mode = .shadow
        let set = try policy.ruleSet(adding: [block, shadow, Rule(name: "never", expression: "amount < 0", outcome: .block)], lists: lists)
        var tally = RuleTally(for: set)
        let r = readings([:])
        for amount in [100.0, 600, 700] {
            var e = event
            e.amount = amount
            _ = policy.decide(e, risk: 0, score: Score(), reasons: ReasonList(), modelVersion: 1, readings: r, rules: set, tally: &tally)
        }
        #expect(tally.hits == [2, 3, 0])
        #expect((0..<set.activeCount).map { set.activeRule($0).name } == ["big_ng", "web", "never"])
    }
}

extension RuleEvaluationTests {
    /// A cold start's classifier has learnt nothing: its probability is noise, which the risk
    /// ignores, and rules read `fraud_probability` as null rather than as that noise.
    @Test func anUntrainedClassifiersProbabilityIsNullToRules() throws {
        let stream = Fixture.stream(transactions: 600)
        let models = try Fixture.coldStart(events: stream.events)
        #expect(!models.classifierIsTrained)
        var extractor = try Fixture.extractor()
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor)
        var batch = ScoredBatch()
        let events = Array(stream.events.prefix(64))
        try scorer.score(events, extractor: &extractor, into: &batch)
        #expect(!batch.classifierIsTrained)
        let policy = try DecisionPolicy()
        let set = try RuleSet(rules: [Rule(name: "p_known", expression: "fraud_probability is null", outcome: .review),
                                      Rule(name: "p_any", expression: "fraud_probability >= 0", outcome: .review)], lists: lists)
        var tally = RuleTally(for: set)
        var decisions: [Decision] = []
        policy.decide(events[...], in: batch, rules: set, tally: &tally, into: &decisions)
        #expect(decisions.count == events.count && tally.hits == [events.count, 0])
        for d in decisions {
            #expect(d.reasons.contains { $0.name.hasSuffix("p_known") } && !d.reasons.contains { $0.name.hasSuffix("p_any") }, "\(d.reasons)")
        }
    }
}

extension RuleEvaluationTests {
    /// Rules run over a whole batch at once, column by column: every event of a batch, with
    /// its own nulls, list hits and readings, is decided exactly as it is alone.
    @Test func aBatchDecidesEachEventAsItWouldAlone() throws {
        let stream = Fixture.stream(transactions: 400)
        let models = try Fixture.coldStart(events: stream.events)
        var extractor = try Fixture.extractor()
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor)
        var events = Array(stream.events.prefix(256))
        for i in events.indices where i % 5 == 0 { events[i].country = nil }
        for i in events.indices where i % 7 == 0 { events[i].mcc = nil }
        for i in events.indices where i % 11 == 0 { events[i].merchantID = "m1" }
        var batch = ScoredBatch()
        try scorer.score(events, extractor: &extractor, into: &batch)
        let policy = try DecisionPolicy()
        let rules = [
            Rule(name: "amount", expression: "amount > 20 and card.transactions >= 1", outcome: .review),
            Rule(name: "null_country", expression: "country is null or country != 'FR'", outcome: .review, mode: .shadow),
            Rule(name: "trusted", expression: "merchant_id in list('trusted_merchants')", outcome: .allow),
            Rule(name: "bins", expression: "card_bin in list('blocked_bins') or mcc in ('5411', '5812')", outcome: .block),
            Rule(name: "ratio", expression: "not (card.amount_ratio is null) and amount / (card.amount_ratio + 1) > 40", outcome: .review),
            Rule(name: "risky", expression: "risk > 0.3 or anomaly_score - 1 >= 2 or amount % 3 in (0, 1)", outcome: .review),
        ]
        let set = try policy.ruleSet(adding: rules, lists: lists)
        var tally = RuleTally(for: set)
        var decisions: [Decision] = []
        policy.decide(events[...], in: batch, rules: set, tally: &tally, into: &decisions)
        var alone = RuleTally(for: set)
        for i in events.indices {
            let d = policy.decide(events[i], risk: batch.risks[i], score: batch.scores[i], reasons: batch.reasons[i], modelVersion: batch.modelVersion,
                                  readings: Array(batch.readingsRow(i)), rules: set, tally: &alone)
            #expect(d.outcome == decisions[i].outcome && d.rule == decisions[i].rule && d.reasons == decisions[i].reasons, "event \(i)")
        }
        #expect(tally.hits == alone.hits)
        // Each rule fired on some events and not on others, so the columns were really mixed.
        #expect(tally.hits.allSatisfy { $0 > 0 && $0 < events.count }, "\(tally.hits)")
    }
}
