// An owned `rd_kafka_topic_partition_list_t`, lent out only inside closures.
import CRdKafka

final class RDKafkaTopicPartitionList {
    private let list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    private let owned: Bool

    init(capacity: Int = 1) {
        list = rd_kafka_topic_partition_list_new(Int32(max(1, capacity)))
        owned = true
    }

    /// Wraps a list librdkafka owns (e.g. the rebalance callback's argument) without freeing it.
    init(borrowing list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.list = list
        owned = false
    }

    convenience init(_ offsets: [(KafkaTopicPartition, Int64)]) {
        self.init(capacity: offsets.count)
        for (partition, offset) in offsets { add(partition, offset: offset) }
    }

    deinit {
        if owned { rd_kafka_topic_partition_list_destroy(list) }
    }

    func add(_ partition: KafkaTopicPartition, offset: Int64 = Int64(RD_KAFKA_OFFSET_INVALID)) {
        rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
    }

    var count: Int { Int(list.pointee.cnt) }

    /// The elements as Swift values: partition, offset, per-partition error.
    var entries: [(partition: KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)] {
        (0..<count).map { index in
            let element = list.pointee.elems[index]
            return (KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                    element.offset, element.err)
        }
    }

    var partitions: [KafkaTopicPartition] { entries.map(\.partition) }

    func setOffset(at index: Int, _ offset: Int64) {
        list.pointee.elems[index].offset = offset
    }

    /// The first per-partition error, as a KafkaError naming the partition.
    func firstError(_ context: String) -> KafkaError? {
        for entry in entries where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .rd(entry.error, "\(context) \(entry.partition)")
        }
        return nil
    }

    func withListPointer<T>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> T) rethrows -> T {
        try body(list)
    }
}
