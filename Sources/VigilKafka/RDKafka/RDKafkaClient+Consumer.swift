// The consumer calls on an `rd_kafka_t`, in Swift values. Each may block in
// librdkafka; KafkaConsumer decides on which of its queues it runs.
import CRdKafka

extension RDKafkaClient {
    /// Joins the group for `topics`.
    func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(topics.map { (KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), 0) })
        let err = list.withListPointer { rd_kafka_subscribe(pointer, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "subscribe \(topics)") }
    }

    /// Replaces the assignment with exactly these partitions at these offsets.
    func assign(_ offsets: [(KafkaTopicPartition, KafkaOffset)]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets.map { ($0.0, $0.1.rawValue) })
        let err = list.withListPointer { rd_kafka_assign(pointer, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "assign") }
    }

    /// The partitions librdkafka has assigned, ascending.
    func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(pointer, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError.rd(err, "assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList(borrowing: list).partitions.sorted()
    }

    /// True when librdkafka considers the current assignment lost. Cheap and thread-safe.
    var isAssignmentLost: Bool { rd_kafka_assignment_lost(pointer) != 0 }

    /// Moves `partition` to `offset`, waiting up to `timeoutMs` for the fetcher to switch.
    func seek(_ partition: KafkaTopicPartition, to offset: KafkaOffset, timeoutMs: Int) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList([(partition, offset.rawValue)])
        if let error = list.withListPointer({ rd_kafka_seek_partitions(pointer, $0, Int32(timeoutMs)) }) {
            throw KafkaError.consuming(error, "seek \(partition)")
        }
        if let error = list.firstError("seek") { throw error }
    }

    /// Stops (`paused`) or restarts fetching `partitions`; the assignment stays.
    func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
        let err = list.withListPointer { paused ? rd_kafka_pause_partitions(pointer, $0) : rd_kafka_resume_partitions(pointer, $0) }
        let operation = paused ? "pause" : "resume"
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, operation) }
        if let error = list.firstError(operation) { throw error }
    }

    /// Commits `offsets` (each the next offset to consume) for the group, synchronously.
    func commit(_ offsets: [(KafkaTopicPartition, Int64)]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(offsets)
        let err = list.withListPointer { rd_kafka_commit(pointer, $0, 0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "commit") }
        if let error = list.firstError("commit") { throw error }
    }

    /// The group's committed offsets; partitions without a commit are absent.
    func committed(_ partitions: [KafkaTopicPartition], timeoutMs: Int) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
        let err = list.withListPointer { rd_kafka_committed(pointer, $0, Int32(timeoutMs)) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "committed") }
        var result: [KafkaTopicPartition: Int64] = [:]
        for entry in list.entries where entry.offset >= 0 { result[entry.partition] = entry.offset }
        return result
    }

    /// The broker's answer to ListOffsets for `partition` (one round trip, at most `timeoutMs`).
    func queryWatermarks(_ partition: KafkaTopicPartition, timeoutMs: Int) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(pointer, partition.topic, partition.partition, &low, &high, Int32(timeoutMs))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "watermarks \(partition)") }
        return (low, high)
    }

    /// The high watermark of the last fetch response for `partition`, or nil before one
    /// (no round trip).
    func fetchedHighWatermark(_ partition: KafkaTopicPartition) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        guard rd_kafka_get_watermark_offsets(pointer, partition.topic, partition.partition, &low, &high)
            == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// The partition ids of `topic`, ascending, from a metadata request.
    func partitions(of topic: String, timeoutMs: Int) throws(KafkaError) -> [Int32] {
        guard let handle = rd_kafka_topic_new(pointer, topic, nil) else {
            throw KafkaError.rd(rd_kafka_last_error(), "topic handle for \(topic)")
        }
        defer { rd_kafka_topic_destroy(handle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 0, handle, &metadata, Int32(timeoutMs))
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

extension KafkaOffset {
    /// librdkafka's number for the position (logical offsets are negative constants).
    var rawValue: Int64 {
        switch self {
        case .at(let offset): return offset
        case .beginning: return Int64(RD_KAFKA_OFFSET_BEGINNING)
        case .end: return Int64(RD_KAFKA_OFFSET_END)
        case .stored: return Int64(RD_KAFKA_OFFSET_STORED)
        }
    }
}
