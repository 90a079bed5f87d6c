// The rule language's parser and type checker: what compiles, and the exact error (with its
// line and column) for what does not.
import Testing
import VigilFeatures
@testable import VigilEngine

@Suite struct RuleLanguageTests {
    let lists = RuleLists(["blocked_cards": ["c9"], "trusted_merchants": ["m1"]])

    func error(_ expression: String) -> String? {
        do {
            try RuleSet.check(expression, lists: lists)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func validRulesCompile() {
        for rule in [
            "amount > 500",
            "amount > 500 and card.new_country == 1",
            "card.count_1h >= 5 or card.seconds_since_last < 60",
            "not (country in ('NG', 'RU')) and channel != 'pos'",
            "card_id in list('blocked_cards')",
            "merchant_id not in list('trusted_merchants')",
            "terminal_id is null and amount * 2 - 10 / 5 > card.amount_sum_24h % 7",
            "features.ip_risk is not null AND features.ip_risk > 0.8",
            "-amount < -1e3",
            "risk >= 0.3 and anomaly_score > 4 or fraud_probability > .9",
            "mcc in ('5967', '7995') and time.hour < 6",
            "amount in (0, 1, -1)",
            "card_bin = '411111'",
            "true",
        ] {
            #expect(error(rule) == nil, "\(rule): \(error(rule) ?? "")")
        }
    }

    @Test func goldenErrorsCarryLineAndColumn() {
        let cases: [(String, String)] = [
            ("card.cnt_1h > 5", #"1:1: unknown name "card.cnt_1h" (did you mean "card.count_1h"?)"#),
            ("amount > 5 and contry == 'NG'", #"1:16: unknown name "contry" (did you mean "country"?)"#),
            ("country > 5", #"1:9: cannot compare a number with text: "country" is text, this is a number"#),
            ("country < 'NG'", #"1:9: "<" compares numbers; text can only be compared with == or !="#),
            ("amount + country > 1", #"1:10: "+" needs a number; "country" is text"#),
            ("amount", #"1:1: a rule must be a condition (true or false), but this is a number"#),
            ("amount > 5 and amount", #"1:16: "and" needs a condition (true or false); "amount" is a number"#),
            ("country == null", #"1:9: a comparison with null is never true; use "is null" or "is not null""#),
            ("amount > ", "1:10: expected a value (a number, text, a name or a parenthesis), found the end of the rule"),
            ("(amount > 5", #"1:12: expected ")" to close the parenthesis, found the end of the rule"#),
            ("amount > 5 amount", #"1:12: expected "and", "or" or the end of the rule, found "amount""#),
            ("country == 'NG", "1:12: text opened here is never closed (')"),
            ("amount > 5 # note", ##"1:12: unexpected character "#""##),
            ("card_id in list('stolen')", #"1:17: unknown list "stolen" (lists: blocked_cards, trusted_merchants)"#),
            ("amount in list('blocked_cards')", #"1:1: list "blocked_cards" holds text; "amount" is a number"#),
            ("amount in (1, 'x')", #"1:15: this list must hold numbers: "amount" is a number"#),
            ("country in ()", "1:13: expected a number or text in the list, found \")\""),
            ("amount > 5 and\n  card.new_country = 'yes'", #"2:20: cannot compare a number with text: "card.new_country" is a number, this is text"#),
            ("(amount > 1) == true", #"1:14: conditions are combined with and, or and not, not compared with "==""#),
            ("5amount > 1", "1:2: a number cannot run into a name; add a space or an operator"),
            ("", "1:1: the rule is empty"),
        ]
        for (rule, expected) in cases {
            #expect(error(rule) == expected, "\(rule)")
        }
    }

    @Test func aRuleSetNamesTheRuleThatFailedAndRefusesDuplicates() {
        #expect(throws: RuleError(rule: "b", at: RulePosition(line: 1, column: 9), #""<" compares numbers; text can only be compared with == or !="#)) {
            try RuleSet(rules: [Rule(name: "a", expression: "amount > 1", outcome: .block),
                                Rule(name: "b", expression: "country < 'x'", outcome: .review)])
        }
        #expect(throws: RuleError.self) {
            try RuleSet(rules: [Rule(name: "a", expression: "amount > 1", outcome: .block), Rule(name: "a", expression: "amount > 2", outcome: .review)])
        }
        #expect(throws: RuleError.self) { try RuleSet(rules: [Rule(name: "has space", expression: "true", outcome: .review)]) }
        // A rule that is off must still be valid (it may be switched on without another check).
        #expect(throws: RuleError.self) { try RuleSet(rules: [Rule(name: "x", expression: "nope > 1", outcome: .review, mode: .off)]) }
    }

    @Test func specNamesOfDenseFeaturesAreNamesToo() throws {
        let spec = FeatureSpec(dense: [.init("card.count_1h", name: "velocity", log1p: true)])
        try RuleSet.check("velocity > 3", vocabulary: RuleVocabulary(spec: spec))
        #expect(throws: RuleError.self) { try RuleSet.check("velocity > 3") }
    }

    @Test func configFileRulesTranslateToTheLanguage() {
        #expect(DecisionRule(name: "cap", condition: .amountAbove(1000, currency: "EUR")).asRule.expression == "amount > 1000.0 and currency == 'EUR'")
        #expect(DecisionRule(name: "c", condition: .countryIn(["RU", "K'P"])).asRule.expression == "country in ('K''P', 'RU')")
        #expect(DecisionRule(name: "m", condition: .merchantIn(["m2", "m1"])).asRule.expression == "merchant_id in ('m1', 'm2')")
    }
}
