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

/// A partition's log bounds as the consumer sees them.
public struct KafkaWatermarks: Sendable, Hashable {
    /// The oldest offset still in the log (from a ListOffsets request).
    public var low: Int64
    /// The log end: the larger of the broker's ListOffsets answer and the high watermark of
    /// the last fetch response, when there was one (Tansu answers ListOffsets(latest) with
    /// the last batch's base offset, below the real end).
    public var high: Int64
    /// The high watermark of the last fetch response for this partition, or nil before one.
    public var fetchedHigh: Int64?

    public init(low: Int64, high: Int64, fetchedHigh: Int64?) {
        self.low = low
        self.high = high
        self.fetchedHigh = fetchedHigh
    }
}

extension KafkaConsumer {
    /// The log bounds of `partition`: one ListOffsets round trip (at most `timeout`), run on
    /// the consumer's blocking queue, so it may overlap a poll.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration = .seconds(5)) async throws -> KafkaWatermarks {
        try await onBlockingQueue { [client] in
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(client.pointer, partition.topic, partition.partition, &low, &high,
                                                       Int32(timeout.milliseconds))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "watermarks \(partition)") }
            var cachedLow: Int64 = -1
            var cachedHigh: Int64 = -1
            var fetched: Int64?
            if rd_kafka_get_watermark_offsets(client.pointer, partition.topic, partition.partition, &cachedLow, &cachedHigh)
                == RD_KAFKA_RESP_ERR_NO_ERROR, cachedHigh >= 0 {
                fetched = cachedHigh
            }
            return KafkaWatermarks(low: low, high: max(high, fetched ?? high), fetchedHigh: fetched)
        }
    }

    /// True when librdkafka considers the current assignment lost (the member missed
    /// `max.poll.interval.ms` or its session timed out): another member may own the
    /// partitions, so nothing of theirs should be committed. Cheap and thread-safe.
    public var isAssignmentLost: Bool {
        guard !client.consumerClosed.load(ordering: .acquiring) else { return true }
        return rd_kafka_assignment_lost(client.pointer) != 0
    }
}
