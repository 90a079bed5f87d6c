// Typed producer settings with documented defaults.

public struct KafkaProducerConfiguration: Sendable, CustomStringConvertible {
    /// `host:port` pairs. Required.
    public var bootstrapServers: [String]
    /// Default: "vigil".
    public var clientID: String = "vigil"
    /// A message not delivered within this time fails with `.messageTimedOut`
    /// (a stopped broker or a missing topic surfaces here). Default: 30 s.
    public var messageTimeout: Duration = .seconds(30)
    /// Idempotent producer (`enable.idempotence`): no duplicates or reordering on retries. Default: false.
    public var idempotent: Bool = false
    /// `acks`: -1 (all in-sync replicas), 0 or 1. Default: -1.
    public var acks: Int = -1
    /// Batching delay (`linger.ms`). Default: 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// Messages waiting locally before `send` reports a full queue. Default: 200,000.
    public var queueBufferingMaxMessages: Int = 200_000
    /// Whether the producer may ask the broker to create missing topics
    /// (`allow.auto.create.topics`). Default: false.
    public var allowAutoCreateTopics: Bool = false
    /// How often librdkafka reports its statistics (`statistics.interval.ms`), read through
    /// `KafkaProducer.transmitted`. Default: nil (off).
    public var statisticsInterval: Duration? = nil
    /// Raw librdkafka properties, applied last (TLS, SASL, compression). Default: none.
    public var properties: KafkaProperties = [:]

    public init(bootstrapServers: [String]) {
        self.bootstrapServers = bootstrapServers
    }

    var librdkafkaProperties: [String: String] {
        var map: [String: String] = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
            "message.timeout.ms": String(messageTimeout.milliseconds),
            "enable.idempotence": idempotent ? "true" : "false",
            "acks": String(acks),
            "linger.ms": String(linger.milliseconds),
            "queue.buffering.max.messages": String(queueBufferingMaxMessages),
            "allow.auto.create.topics": allowAutoCreateTopics ? "true" : "false",
        ]
        if let statisticsInterval { map["statistics.interval.ms"] = String(max(1, statisticsInterval.milliseconds)) }
        map.merge(properties.values) { _, raw in raw }
        return map
    }

    public var description: String {
        "KafkaProducerConfiguration(brokers: \(bootstrapServers.joined(separator: ",")), idempotent: \(idempotent), "
            + "properties: \(properties))"
    }
}
