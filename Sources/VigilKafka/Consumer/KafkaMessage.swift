// A consumed message as an owned Swift value: its bytes are copied out of
// librdkafka's buffer before that buffer is released (RDKafka/RDKafkaMessageBatch.swift).

public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    /// nil for a header without a value (distinct from an empty value).
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Key and value are slices of one buffer shared by the messages of a poll batch:
    /// owned, immutable, and cheap to make; holding one keeps its batch's bytes alive.
    public var key: ArraySlice<UInt8>?
    public var value: ArraySlice<UInt8>
    /// Milliseconds since the Unix epoch (create or log-append time); nil when the broker sent none.
    public var timestampMilliseconds: Int64?
    public var headers: [KafkaHeader]

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    public init(topic: String, partition: Int32, offset: Int64, key: ArraySlice<UInt8>?, value: ArraySlice<UInt8>,
                timestampMilliseconds: Int64?, headers: [KafkaHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
        self.headers = headers
    }
}
