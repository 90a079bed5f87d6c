// Ownership of one `rd_kafka_t` handle and of the Swift object its C callbacks
// reach through the configuration opaque. The consumer and producer calls on the
// handle are in RDKafkaClient+Consumer.swift and RDKafkaClient+Producer.swift.
import CRdKafka
import Synchronization

/// Owns an `rd_kafka_t`. librdkafka handles are thread-safe, which is what makes the
/// `@unchecked Sendable` sound; the pointer never leaves this folder.
final class RDKafkaClient: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The object whose unretained address is the handle's opaque (rebalance or delivery
    /// context). Kept alive here, and released only after `rd_kafka_destroy` in deinit has
    /// returned, so no C callback can outlive it.
    private let callbackContext: AnyObject?

    /// Creates the handle; `conf` is consumed (freed on failure, owned by librdkafka on success).
    private init(type: rd_kafka_type_t, conf: OpaquePointer, callbackContext: AnyObject?) throws(KafkaError) {
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.invalidArgument, "rd_kafka_new: \(cText(errstr))", isRetriable: false)
        }
        self.pointer = handle
        self.callbackContext = callbackContext
    }

    /// A consumer handle whose rebalances and log lines go to `context`, with the main queue
    /// (errors, rebalances) routed into the consumer queue that poll serves.
    static func consumer(_ properties: [String: String], context: RebalanceContext) throws(KafkaError) -> RDKafkaClient {
        let conf = try RDKafkaConfiguration.make(properties)
        RDKafkaConfiguration.install(context, on: conf)
        let client = try RDKafkaClient(type: RD_KAFKA_CONSUMER, conf: conf, callbackContext: context)
        rd_kafka_poll_set_consumer(client.pointer)
        return client
    }

    /// A producer handle whose delivery reports go to `context`.
    static func producer(_ properties: [String: String], context: DeliveryContext) throws(KafkaError) -> RDKafkaClient {
        let conf = try RDKafkaConfiguration.make(properties)
        RDKafkaConfiguration.install(context, on: conf)
        return try RDKafkaClient(type: RD_KAFKA_PRODUCER, conf: conf, callbackContext: context)
    }

    /// A producer handle without callbacks, for owning a mock cluster.
    static func plainProducer(_ properties: [String: String]) throws(KafkaError) -> RDKafkaClient {
        try RDKafkaClient(type: RD_KAFKA_PRODUCER, conf: RDKafkaConfiguration.make(properties), callbackContext: nil)
    }

    /// Set once `rd_kafka_consumer_close` ran; otherwise deinit skips the consumer close,
    /// which would call the rebalance handler from whatever thread runs deinit. A fact about
    /// the C handle, kept here because deinit needs it; the consumer's own lifecycle is its
    /// state machine.
    private let consumerClosed = Atomic<Bool>(false)

    deinit {
        if consumerClosed.load(ordering: .acquiring) {
            rd_kafka_destroy(pointer)
        } else {
            rd_kafka_destroy_flags(pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
        }
    }

    /// Leaves the group (the rebalance callback sees the final revocation, on this thread).
    /// Blocks: call it on the consumer's own queue.
    func closeConsumer() throws(KafkaError) {
        let err = rd_kafka_consumer_close(pointer)
        consumerClosed.store(true, ordering: .releasing)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "close") }
    }

    /// The fatal error librdkafka raised on this instance, if any.
    func fatalError() -> KafkaError? {
        var errstr = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(pointer, &errstr, errstr.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(.init(err), "fatal: \(cText(errstr))", isRetriable: false, isFatal: true)
    }
}
