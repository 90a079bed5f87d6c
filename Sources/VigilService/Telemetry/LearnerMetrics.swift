// The metrics of learning across the group, in serve's Prometheus registry (names in
// docs/serve.md, "Learning across the group"): whether this instance is the learner, the
// examples it sent and (as the learner) received, the learner's lag behind the training
// topic, and its tenures and fenced publications.
import Prometheus
import Synchronization

final class LearnerMetrics: Sendable {
    /// Why the learner did not learn a message of the training topic (the `reason` label).
    enum Skip: String, CaseIterable {
        /// The label id was learnt before (sent twice, or by two members that scored the event).
        case duplicate
        /// Not an example of the current format.
        case undecodable
        /// Made on another feature spec than the learner's.
        case shape
    }

    private let role: Gauge
    private let token: Gauge
    private let sent: Counter
    private let sendFailures: Counter
    private let unmatched: Counter
    private let received: Counter
    private let skipped: [Skip: Counter]
    private let lagGauge: Gauge
    private let tenures: Counter
    private let fenced: Counter
    private let bytes: Counter
    private let wireBytes: Counter
    private let lastWireBytes = Mutex<Int>(0)
    private let recalledCounter: Counter

    init(registry: PrometheusCollectorRegistry) {
        func named(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        role = registry.makeGauge(descriptor: named("vigil_learner_role", "1 while this instance is the group's learner, else 0."))
        token = registry.makeGauge(descriptor: named("vigil_learner_token", "Fencing token of this instance's tenure as the learner (0: not the learner)."))
        sent = registry.makeCounter(descriptor: named("vigil_training_examples_sent_total", "Labelled examples this instance joined and sent to the training topic."))
        bytes = registry.makeCounter(descriptor: named("vigil_training_example_bytes_total", "Encoded bytes of the examples sent (before librdkafka's compression)."))
        wireBytes = registry.makeCounter(descriptor: named("vigil_training_sent_wire_bytes_total",
                                                           "Bytes the training-topic producer sent to the brokers: after compression, with request framing (librdkafka's tx_bytes)."))
        sendFailures = registry.makeCounter(descriptor: named("vigil_training_example_send_failures_total",
                                                              "Label polls whose examples could not be delivered (sent again at the next poll)."))
        unmatched = registry.makeCounter(descriptor: named("vigil_training_labels_unmatched_total",
                                                           "Labels whose event this instance did not score or no longer remembers."))
        received = registry.makeCounter(descriptor: named("vigil_training_examples_received_total", "Examples the learner took from the training topic to learn."))
        var skipped: [Skip: Counter] = [:]
        for reason in Skip.allCases {
            skipped[reason] = registry.makeCounter(descriptor: named("vigil_training_examples_skipped_total", "Training topic messages the learner did not learn, by reason."),
                                                   labels: [("reason", reason.rawValue)])
        }
        self.skipped = skipped
        lagGauge = registry.makeGauge(descriptor: named("vigil_learner_lag_examples", "Examples in the training topic the learner has not taken yet (0 on other instances)."))
        recalledCounter = registry.makeCounter(descriptor: named("vigil_learner_recalled_examples_total",
                                                                "Examples read back from the training topic into the rehearsal memory when a tenure started."))
        tenures = registry.makeCounter(descriptor: named("vigil_learner_tenures_total", "Times this instance took the learner role."))
        fenced = registry.makeCounter(descriptor: named("vigil_learner_fenced_publications_total",
                                                        "Publications refused because this instance no longer held the learner lease."))
    }

    func tenureStarted(token value: Int64) {
        role.set(Double(1))
        token.set(Double(value))
        tenures.increment()
    }

    func tenureEnded() {
        role.set(Double(0))
        token.set(Double(0))
        lagGauge.set(Double(0))
    }

    func examplesSent(_ count: Int, bytes encoded: Int) {
        sent.increment(by: Int64(count))
        bytes.increment(by: Int64(encoded))
    }

    /// librdkafka's running total of bytes sent (its latest statistics); counts the growth.
    func producerSent(wireBytes total: Int) {
        let grown = lastWireBytes.withLock { last -> Int in
            defer { last = max(last, total) }
            return max(0, total - last)
        }
        if grown > 0 { wireBytes.increment(by: Int64(grown)) }
    }

    func sendFailed() { sendFailures.increment() }
    func labelsUnmatched(_ count: Int) { if count > 0 { unmatched.increment(by: Int64(count)) } }
    func examplesReceived(_ count: Int) { if count > 0 { received.increment(by: Int64(count)) } }
    func skipped(_ reason: Skip, _ count: Int = 1) { skipped[reason]?.increment(by: Int64(count)) }
    func lag(_ examples: Int64) { lagGauge.set(Double(examples)) }
    func publicationFenced() { fenced.increment() }
    func recalled(_ count: Int) { if count > 0 { recalledCounter.increment(by: Int64(count)) } }
}
