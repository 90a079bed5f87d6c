// The rule set serve decides with, and its metrics: the RuleBook the batch loop reads once per
// batch, the policy and vocabulary stored rules are compiled with, and the counters of fires
// per rule and mode, loads and refusals. Built by FraudPipeline; filled by RuleFollower.
import Prometheus
import Synchronization
import VigilEngine
import VigilFeatures

final class ServingRules: Sendable {
    let book = RuleBook()
    let policy: DecisionPolicy
    let vocabulary: RuleVocabulary
    private let registry: PrometheusCollectorRegistry
    private let hits = Mutex<[String: Counter]>([:])
    private let loads: Counter
    private let refusals: Counter
    private let active: [RuleMode: Gauge]

    init(policy: DecisionPolicy, spec: FeatureSpec, registry: PrometheusCollectorRegistry) {
        self.policy = policy
        vocabulary = RuleVocabulary(spec: spec)
        self.registry = registry
        book.publish(policy.rules)
        loads = registry.makeCounter(descriptor: ServiceTelemetry.named("vigil_rule_set_loads_total",
                                                                        "Rule sets compiled from vigil.rules and put in force (at start and after each change)."))
        refusals = registry.makeCounter(descriptor: ServiceTelemetry.named("vigil_rule_set_refusals_total",
                                                                           "Stored rule sets refused because a rule did not compile (the current set stayed in force)."))
        var active: [RuleMode: Gauge] = [:]
        for mode in [RuleMode.enforce, .shadow] {
            active[mode] = registry.makeGauge(descriptor: ServiceTelemetry.named("vigil_rules_active", "Rules in force, by mode."),
                                              labels: [("mode", mode.rawValue)])
        }
        self.active = active
        count(policy.rules)
    }

    /// Puts `set` in force from the next batch on.
    func adopt(_ set: RuleSet) {
        book.publish(set)
        loads.increment()
        count(set)
    }

    func refused() { refusals.increment() }

    private func count(_ set: RuleSet) {
        for mode in [RuleMode.enforce, .shadow] {
            active[mode]?.record(Int64((0..<set.activeCount).filter { set.activeRule($0).mode == mode }.count))
        }
    }

    /// Adds one batch's fires (`tally` was made for `set`) to `vigil_rule_hits_total{rule, mode}`.
    func record(_ tally: RuleTally, of set: RuleSet) {
        for k in tally.hits.indices where tally.hits[k] > 0 {
            let rule = set.activeRule(k)
            let key = rule.mode.rawValue + ":" + rule.name
            let counter = hits.withLock { counters in
                if let c = counters[key] { return c }
                let c = registry.makeCounter(descriptor: ServiceTelemetry.named("vigil_rule_hits_total", "Events on which a rule fired, by rule and mode."),
                                             labels: [("rule", rule.name), ("mode", rule.mode.rawValue)])
                counters[key] = c
                return c
            }
            counter.increment(by: Int64(tally.hits[k]))
        }
    }
}
