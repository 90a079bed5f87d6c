// A consumed message as an owned Swift value: its bytes are copied out of
// librdkafka's buffer before that buffer is released.
import CRdKafka

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

    /// A librdkafka message whose key and value were copied into `arena` at `position`
    /// (key first), which this advances; `topic` is the caller's name for the message's topic.
    init(copying message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String, arena: [UInt8], position: inout Int) {
        let m = message.pointee
        self.topic = topic
        self.partition = m.partition
        self.offset = m.offset
        if m.key != nil {
            self.key = arena[position..<(position + m.key_len)]
            position += m.key_len
        } else {
            self.key = nil
        }
        let valueLength = m.payload == nil ? 0 : m.len
        self.value = arena[position..<(position + valueLength)]
        position += valueLength
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        self.timestampMilliseconds = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        self.headers = KafkaMessage.headers(of: message)
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(message, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "",
                                      value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
            index += 1
        }
        return result
    }
}
