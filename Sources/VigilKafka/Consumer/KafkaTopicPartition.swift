// Names of partitions and of positions within them (librdkafka's numbers for
// them are in RDKafka/RDKafkaClient+Consumer.swift).

public struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Where a partition starts (on assignment) or moves to (on seek).
public enum KafkaOffset: Hashable, Sendable {
    /// The message with this offset (the next one the application has not processed).
    case at(Int64)
    /// The oldest message still in the log.
    case beginning
    /// After the newest message: only new messages.
    case end
    /// The offset committed in Kafka for the group, else `auto.offset.reset`.
    case stored

    var isValid: Bool {
        if case .at(let offset) = self { return offset >= 0 }
        return true
    }
}

/// The consumer's position in a partition and how far behind the log end it is.
public struct KafkaPartitionLag: Sendable, Hashable {
    public var partition: KafkaTopicPartition
    /// The next offset the consumer will deliver; nil before the first fetch.
    public var position: Int64?
    /// The oldest offset in the log.
    public var low: Int64
    /// The offset the next produced message gets (log end).
    public var high: Int64
    /// Messages not yet delivered: high minus position (high minus low when there is no position yet).
    public var lag: Int64 { max(0, high - (position ?? low)) }
}
