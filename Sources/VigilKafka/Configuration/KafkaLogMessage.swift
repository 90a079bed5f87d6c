// librdkafka's own log lines, handed to the application's logger instead of standard error.

/// One log line of librdkafka: its syslog level, facility (`FAIL`, `OFFSET`, `REBALANCE`...)
/// and text. Delivered from librdkafka's internal threads.
public struct KafkaLogMessage: Sendable, Hashable {
    /// syslog severity as librdkafka gives it: 0 emergency ... 3 error, 4 warning, 5 notice,
    /// 6 info, 7 debug.
    public var level: Int32
    public var facility: String
    public var message: String
    /// The client's name (`rdkafka#consumer-1`), which tells clients of one process apart.
    public var client: String

    public init(level: Int32, facility: String, message: String, client: String) {
        self.level = level
        self.facility = facility
        self.message = message
        self.client = client
    }
}

/// Receives librdkafka's log lines. Called on librdkafka's threads (never the cooperative
/// pool); must be quick and must not call back into the client.
public typealias KafkaLogHandler = @Sendable (KafkaLogMessage) -> Void
