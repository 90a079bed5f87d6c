// `tools/bench scoring`'s rule figures: the decision step over already-scored batches with 0,
// 10 and 50 typical analysts' rules, so the rules' cost per event can be set against the
// models' own (target: 50 rules ≤ 20% of the models' time per event).
import Foundation
import VigilEngine
import VigilFeatures

enum RuleCostMeasurement {
    /// Ten rule shapes analysts write: amount caps, velocity, new country, short gaps, country,
    /// merchant and card lists, MCC with amount, z-score with a new merchant, merchant risk with
    /// the model's risk. Variant `v` shifts the constants so 50 rules are 50 different rules.
    static func typicalRules(count: Int) -> [Rule] {
        (0..<count).map { i in
            let v = Double(i / 10)
            let (expression, outcome): (String, DecisionOutcome) = switch i % 10 {
            case 0: ("amount > \(5000 + v * 500)", .review)
            case 1: ("amount > \(500 + v * 50) and card.new_country == 1", .review)
            case 2: ("card.count_1h >= \(5 + v)", .review)
            case 3: ("card.seconds_since_last < \(30 + v * 10) and amount > 100", .review)
            case 4: ("country in ('NG', 'RU', 'KP', 'IR', 'SY', 'VE') and amount > \(200 + v * 20)", .review)
            case 5: ("merchant_id in list('blocked_merchants')", .block)
            case 6: ("card_id in list('blocked_cards')", .block)
            case 7: ("mcc in ('7995', '5967', '4829') and amount > \(200 + v * 25)", .review)
            case 8: ("card.amount_zscore > \(4 + v * 0.5) and card.new_merchant == 1", .review)
            default: ("merchant.risk > \(0.2 + v * 0.05) and risk > 0.3", .review)
            }
            return Rule(name: "typical_\(i)", expression: expression, outcome: outcome)
        }
    }

    /// Lists the typical rules name: 1,000 merchants and 10,000 cards no simulated event uses.
    static let lists = RuleLists([
        "blocked_merchants": Set((0..<1000).map { "blocked-merchant-\($0)" }),
        "blocked_cards": Set((0..<10_000).map { "blocked-card-\($0)" }),
    ])

    /// CPU seconds to decide every event of `batches` with `rules` typical rules (best of `passes`), and the fires.
    static func decideSeconds(_ batches: [(events: ArraySlice<TransactionEvent>, scored: ScoredBatch)], rules count: Int,
                              passes: Int) throws -> (seconds: Double, hits: Int) {
        let policy = try DecisionPolicy()
        let set = try policy.ruleSet(adding: typicalRules(count: count), lists: lists)
        var decisions: [Decision] = []
        var hits = 0, fastest = Double.infinity
        for _ in 0..<max(passes, 1) {
            var tally = RuleTally(for: set)
            let t = ScoringBenchmark.seconds {
                for (events, scored) in batches {
                    decisions.removeAll(keepingCapacity: true)
                    policy.decide(events, in: scored, rules: set, tally: &tally, into: &decisions)
                }
            }
            fastest = min(fastest, t)
            hits = tally.hits.reduce(0, +)
        }
        return (fastest, hits)
    }
}
