// Topic metadata for readers of a bounded range (`vigil replay --kafka-topic`): a topic's
// partitions from the broker's metadata. Runs on the consumer's blocking queue and may
// overlap a poll.
//
// There is deliberately no offsets-for-times lookup yet: neither Tansu 0.6 nor librdkafka's
// mock cluster answers ListOffsets by timestamp (both return the log start or -1), so such a
// call could not be tested here. Time ranges scan their partitions and filter by timestamp.
import Synchronization

extension KafkaConsumer {
    /// The partition ids of `topic`, ascending, from a metadata request. Throws
    /// `.unknownTopicOrPartition` (or the broker's error for the topic) when it cannot be read.
    public func partitions(of topic: String, timeout: Duration = .seconds(10)) async throws -> [Int32] {
        guard !topic.isEmpty else { throw KafkaError(.invalidArgument, "the topic name is empty", isRetriable: false) }
        return try await onBlockingQueue { [client] in try client.partitions(of: topic, timeoutMs: timeout.milliseconds) }
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
            let (low, high) = try client.queryWatermarks(partition, timeoutMs: timeout.milliseconds)
            let fetched = client.fetchedHighWatermark(partition)
            return KafkaWatermarks(low: low, high: max(high, fetched ?? high), fetchedHigh: fetched)
        }
    }

    /// True when librdkafka considers the current assignment lost (the member missed
    /// `max.poll.interval.ms` or its session timed out): another member may own the
    /// partitions, so nothing of theirs should be committed. Cheap and thread-safe.
    public var isAssignmentLost: Bool {
        guard !context.machine.withLock({ $0.isClosed }) else { return true }
        return client.isAssignmentLost
    }
}
