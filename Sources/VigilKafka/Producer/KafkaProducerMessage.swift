// What the producer sends and what it hears back.

public struct KafkaProducerMessage: Sendable, Hashable {
    public var topic: String
    /// nil: librdkafka's partitioner chooses (by key hash when there is a key).
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the Unix epoch; nil: the producer's clock at send time.
    public var timestampMilliseconds: Int64?

    public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8],
                headers: [KafkaHeader] = [], timestampMilliseconds: Int64? = nil) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// The outcome of one message: where it landed, or why it did not.
public struct KafkaDeliveryReport: Sendable {
    /// The number `send` returned for the message.
    public var id: UInt64
    public var topic: String
    public var partition: Int32
    /// The message's offset in the partition; nil when delivery failed (or the broker did not say).
    public var offset: Int64?
    public var error: KafkaError?
}
