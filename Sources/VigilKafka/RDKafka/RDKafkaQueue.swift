// An owned `rd_kafka_queue_t` reference.
import CRdKafka

/// Keeps its client alive, so the queue is always destroyed before the `rd_kafka_t`.
/// librdkafka queues are thread-safe, which makes `@unchecked Sendable` sound.
final class RDKafkaQueue: @unchecked Sendable {
    let pointer: OpaquePointer
    private let client: RDKafkaClient

    init(consumerQueueOf client: RDKafkaClient) throws(KafkaError) {
        guard let queue = rd_kafka_queue_get_consumer(client.pointer) else {
            throw KafkaError(.invalidState, "the consumer has no group queue (group.id missing?)", isRetriable: false)
        }
        self.pointer = queue
        self.client = client
    }

    /// Ends a wait on this queue now (from any thread); with no waiter, the next wait returns
    /// at once (librdkafka keeps one such flag).
    func yield() {
        rd_kafka_queue_yield(pointer)
    }

    deinit {
        rd_kafka_queue_destroy(pointer)
    }
}
