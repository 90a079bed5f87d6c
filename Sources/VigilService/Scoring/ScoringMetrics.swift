// The scoring endpoint's metrics, in serve's Prometheus registry (names in docs/api.md):
// requests by outcome, the latency of each stage and the requests in flight.
import Prometheus

final class ScoringMetrics: Sendable {
    /// How a request ended (the `outcome` label).
    enum Outcome: String, CaseIterable {
        /// 200, decided now.
        case decided
        /// 200, the stored decision of an event id seen before.
        case repeated
        /// 400: the body is not an event of the contract (the dead letters' reason codes).
        case rejected
        /// 429: `max_in_flight` reached.
        case overloaded
        /// 503: not ready, stopping, not the card's partition owner, the database unreachable,
        /// or no answer within `request_timeout_ms`.
        case unavailable
    }

    private let requests: [Outcome: Counter]
    private let inFlightGauge: Gauge
    let parse: DurationHistogram
    let score: DurationHistogram
    let commitWait: DurationHistogram
    let total: DurationHistogram

    init(registry: PrometheusCollectorRegistry) {
        func named(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        var requests: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            requests[outcome] = registry.makeCounter(descriptor: named("vigil_api_requests_total", "Scoring requests by outcome."),
                                                     labels: [("outcome", outcome.rawValue)])
        }
        self.requests = requests
        inFlightGauge = registry.makeGauge(descriptor: named("vigil_api_in_flight", "Scoring requests admitted and not yet finished."))
        let buckets: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
                                   .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5)]
        parse = registry.makeDurationHistogram(descriptor: named("vigil_api_parse_duration_seconds", "Reading and decoding one scoring request."),
                                               buckets: buckets)
        score = registry.makeDurationHistogram(descriptor: named("vigil_api_score_duration_seconds",
                                                                 "From admission to the decision (waiting for the batch loop, features, models, policy)."),
                                               buckets: buckets)
        commitWait = registry.makeDurationHistogram(descriptor: named("vigil_api_commit_wait_duration_seconds",
                                                                      "From the decision to the commit of its row (durable commit only)."),
                                                    buckets: buckets)
        total = registry.makeDurationHistogram(descriptor: named("vigil_api_request_duration_seconds",
                                                                 "One scoring request from its first byte read to its answer."),
                                               buckets: buckets)
    }

    func request(_ outcome: Outcome) { requests[outcome]?.increment() }

    func inFlight(_ change: Int) {
        if change > 0 { inFlightGauge.increment(by: Double(change)) } else { inFlightGauge.decrement(by: Double(-change)) }
    }
}
