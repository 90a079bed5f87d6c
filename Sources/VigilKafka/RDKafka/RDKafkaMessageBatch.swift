// The messages one consume call took from a consumer queue, owned until the batch
// is released, read as Swift values and copied out into KafkaMessages.
import CRdKafka

/// Owns up to `capacity` `rd_kafka_message_t` references and destroys them in deinit, so
/// a batch dropped on any path (an error thrown mid-poll included) releases librdkafka's
/// buffers. Used on the consumer's poll queue only.
final class RDKafkaMessageBatch {
    private let buffer: UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>
    /// Messages in the buffer.
    private(set) var count = 0
    /// Why the consume call failed, when it did (the batch is then empty).
    private(set) var error: KafkaError?

    /// One message's header fields, without its bytes.
    struct Entry {
        enum Kind { case message, endOfPartition, failed }
        var kind: Kind
        /// librdkafka's topic handle: equal handles mean the same topic, so a run of
        /// messages needs the topic's name only once.
        var topic: OpaquePointer?
        var partition: Int32
        var offset: Int64
        /// Key plus value bytes.
        var byteCount: Int
    }

    /// Takes up to `maxMessages` from `queue`. `fill`: wait up to `timeoutMs` for all of
    /// them; otherwise take what is queued, or wait up to `timeoutMs` for one message and
    /// then take what is queued. Rebalance callbacks run inside this call.
    init(consumingFrom queue: RDKafkaQueue, maxMessages: Int, timeoutMs: Int, fill: Bool) {
        buffer = .allocate(capacity: maxMessages)
        var taken: Int
        if fill {
            taken = rd_kafka_consume_batch_queue(queue.pointer, Int32(timeoutMs), buffer, maxMessages)
        } else {
            taken = rd_kafka_consume_batch_queue(queue.pointer, 0, buffer, maxMessages)
            if taken == 0 {
                taken = rd_kafka_consume_batch_queue(queue.pointer, Int32(timeoutMs), buffer, 1)
                if taken == 1 && maxMessages > 1 {
                    // An error here surfaces on the next call; the message in hand is kept.
                    taken += max(0, rd_kafka_consume_batch_queue(queue.pointer, 0, buffer + 1, maxMessages - 1))
                }
            }
        }
        if taken < 0 {
            error = KafkaError.rd(rd_kafka_last_error(), "consume batch")
        } else {
            count = taken
        }
    }

    deinit {
        for index in 0..<count { rd_kafka_message_destroy(buffer[index]) }
        buffer.deallocate()
    }

    func entry(at index: Int) -> Entry {
        let m = buffer[index]!.pointee
        let kind: Entry.Kind
        if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            kind = .message
        } else {
            kind = m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? .endOfPartition : .failed
        }
        return Entry(kind: kind, topic: m.rkt, partition: m.partition, offset: m.offset,
                     byteCount: m.len + (m.key == nil ? 0 : m.key_len))
    }

    /// The name of the topic of the message at `index`.
    func topicName(at index: Int) -> String {
        String(cString: rd_kafka_topic_name(buffer[index]!.pointee.rkt))
    }

    /// The error a `.failed` entry carries; the client's fatal error when librdkafka says fatal.
    func error(at index: Int, of client: RDKafkaClient) -> KafkaError {
        let message = buffer[index]!
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR__FATAL, let fatal = client.fatalError() { return fatal }
        var where_ = ""
        if let rkt = m.rkt { where_ = " \(String(cString: rd_kafka_topic_name(rkt)))[\(m.partition)]" }
        let detail = String(cString: rd_kafka_message_errstr(message))
        return KafkaError(.init(m.err), "consume\(where_): \(detail)")
    }

    /// The `accepted` messages (index into this batch, index into `topics`) as owned values.
    /// All keys and values are copied into one buffer of `byteCount` bytes (one allocation
    /// instead of two per message); each message holds slices of it.
    func messages(_ accepted: [(index: Int, topic: Int)], topics: [String], byteCount: Int) -> [KafkaMessage] {
        let arena = [UInt8](unsafeUninitializedCapacity: byteCount) { bytes, initialized in
            var position = 0
            for (index, _) in accepted {
                let m = buffer[index]!.pointee
                if let key = m.key, m.key_len > 0 {
                    (bytes.baseAddress! + position).initialize(from: key.assumingMemoryBound(to: UInt8.self), count: m.key_len)
                    position += m.key_len
                }
                if let payload = m.payload, m.len > 0 {
                    (bytes.baseAddress! + position).initialize(from: payload.assumingMemoryBound(to: UInt8.self), count: m.len)
                    position += m.len
                }
            }
            initialized = position
        }
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(accepted.count)
        var position = 0
        for (index, topic) in accepted {
            messages.append(KafkaMessage(copying: buffer[index]!, topic: topics[topic], arena: arena, position: &position))
        }
        return messages
    }
}

extension KafkaMessage {
    /// A librdkafka message whose key and value were copied into `arena` at `position`
    /// (key first), which this advances; `topic` is the caller's name for the message's topic.
    fileprivate init(copying message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String, arena: [UInt8],
                     position: inout Int) {
        let m = message.pointee
        var key: ArraySlice<UInt8>?
        if m.key != nil {
            key = arena[position..<(position + m.key_len)]
            position += m.key_len
        }
        let valueLength = m.payload == nil ? 0 : m.len
        let value = arena[position..<(position + valueLength)]
        position += valueLength
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        self.init(topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
                  timestampMilliseconds: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
                  headers: KafkaMessage.headers(of: message))
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
