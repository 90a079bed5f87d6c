// Typed consumer settings with documented defaults. Offsets belong to the
// application (they live in PostgreSQL), so Kafka's auto-commit and offset store
// are always off.

/// How a consumer group distributes partitions.
public enum KafkaRebalanceProtocol: String, Sendable {
    /// Every rebalance revokes all partitions and assigns anew (`range,roundrobin`).
    case eager
    /// Only moved partitions are revoked and assigned (`cooperative-sticky`).
    case cooperativeSticky
}

public struct KafkaConsumerConfiguration: Sendable, CustomStringConvertible {
    /// `host:port` pairs. Required.
    public var bootstrapServers: [String]
    /// The consumer group. Required also for manual assignment (librdkafka needs one for commits).
    public var groupID: String
    /// Default: "vigil".
    public var clientID: String = "vigil"
    /// A member is dropped from the group when no heartbeat arrives this long. Default: 45 s.
    public var sessionTimeout: Duration = .seconds(45)
    /// A member that does not poll this long leaves the group. Default: 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// Default: `.eager`.
    public var rebalanceProtocol: KafkaRebalanceProtocol = .eager
    /// Where a partition starts when the application asks for `.stored` and Kafka has no
    /// committed offset, or when an offset is out of range. Default: `.beginning`.
    public var offsetResetToBeginning: Bool = true
    /// Pre-fetch depth per partition, in messages (`queued.min.messages`). Default: 100,000.
    public var queuedMinMessages: Int = 100_000
    /// Largest fetch response (`fetch.max.bytes`). Default: 52,428,800 (50 MiB).
    public var fetchMaxBytes: Int = 52_428_800
    /// Raw librdkafka properties, applied last (TLS, SASL, tuning). Default: none.
    public var properties: KafkaProperties = [:]
    /// Where librdkafka's log lines go (at the levels its `log_level` property lets through,
    /// default 6, info). Default: nil, librdkafka prints them to standard error.
    public var logHandler: KafkaLogHandler?

    public init(bootstrapServers: [String], groupID: String) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
    }

    /// The librdkafka property map (still Swift values; RDKafkaConfiguration turns it into C).
    var librdkafkaProperties: [String: String] {
        var map: [String: String] = [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "group.id": groupID,
            "client.id": clientID,
            "session.timeout.ms": String(sessionTimeout.milliseconds),
            "max.poll.interval.ms": String(maxPollInterval.milliseconds),
            "partition.assignment.strategy": rebalanceProtocol == .eager ? "range,roundrobin" : "cooperative-sticky",
            "auto.offset.reset": offsetResetToBeginning ? "earliest" : "latest",
            "queued.min.messages": String(queuedMinMessages),
            "fetch.max.bytes": String(fetchMaxBytes),
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "false",
        ]
        if sessionTimeout < .seconds(9) {
            // librdkafka's default heartbeat (3 s) must stay well below the session timeout.
            map["heartbeat.interval.ms"] = String(max(100, sessionTimeout.milliseconds / 3))
        }
        map.merge(properties.values) { _, raw in raw }
        return map
    }

    public var description: String {
        "KafkaConsumerConfiguration(group: \(groupID), brokers: \(bootstrapServers.joined(separator: ",")), "
            + "protocol: \(rebalanceProtocol), properties: \(properties))"
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, clamped to Int32 (librdkafka's range for timeouts).
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        let value = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int(max(0, min(value, Int64(Int32.max))))
    }
}
