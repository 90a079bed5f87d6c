// Topic metadata for readers of a bounded range (`vigil replay --kafka-topic`): a topic's
// partitions from the broker's metadata. Runs on the consumer's blocking queue and may
// overlap a poll.
//
// There is deliberately no offsets-for-times lookup yet: neither Tansu 0.6 nor librdkafka's
// mock cluster answers ListOffsets by timestamp (both return the log start or -1), so such a
// call could not be tested here. Time ranges scan their partitions and filter by timestamp.
import CRdKafka

extension KafkaConsumer {
    /// The partition ids of `topic`, ascending, from a metadata request. Throws
    /// `.unknownTopicOrPartition` (or the broker's error for the topic) when it cannot be read.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32] {
        guard !topic.isEmpty else { throw KafkaError(.invalidArgument, "the topic name is empty", isRetriable: false) }
        return try await onBlockingQueue { [client] in
            guard let handle = rd_kafka_topic_new(client.pointer, topic, nil) else {
                throw KafkaError.rd(rd_kafka_last_error(), "topic handle for \(topic)")
            }
            defer { rd_kafka_topic_destroy(handle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.pointer, 0, handle, &metadata, Int32(timeout.milliseconds))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw KafkaError.rd(err, "metadata of \(topic)") }
            defer { rd_kafka_metadata_destroy(metadata) }
            for t in UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
            where String(cString: t.topic) == topic {
                guard t.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(t.err, "metadata of \(topic)") }
                guard t.partition_cnt > 0 else { throw KafkaError.rd(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "metadata of \(topic)") }
                return UnsafeBufferPointer(start: t.partitions, count: Int(t.partition_cnt)).map(\.id).sorted()
            }
            throw KafkaError.rd(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "metadata of \(topic)")
        }
    }
}
