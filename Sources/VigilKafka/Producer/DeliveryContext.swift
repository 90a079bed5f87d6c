// The bridge from librdkafka's delivery-report callback to Swift: continuations of
// `produce` calls waiting for their message, the application's report handler,
// and counters.
//
// Lifetime: the producer's RDKafkaClient holds this object strongly as its callback
// context and destroys the rd_kafka_t before releasing it, so the unretained
// pointer in the configuration opaque is valid for every callback.
import CRdKafka
import Synchronization

final class DeliveryContext: Sendable {
    private let waiting = Mutex<[UInt64: CheckedContinuation<KafkaDeliveryReport, any Error>]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let handler: (@Sendable (KafkaDeliveryReport) -> Void)?
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)

    init(handler: (@Sendable (KafkaDeliveryReport) -> Void)?) {
        self.handler = handler
    }

    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
    }

    func makeID() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    func await(_ id: UInt64, _ continuation: CheckedContinuation<KafkaDeliveryReport, any Error>) {
        waiting.withLock { $0[id] = continuation }
    }

    /// The message never entered librdkafka: nobody will report it.
    func cancel(_ id: UInt64) -> CheckedContinuation<KafkaDeliveryReport, any Error>? {
        waiting.withLock { $0.removeValue(forKey: id) }
    }

    fileprivate func report(_ message: UnsafePointer<rd_kafka_message_t>) {
        let m = message.pointee
        let id = UInt64(UInt(bitPattern: m._private))
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        var error: KafkaError?
        if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            error = KafkaError(.init(m.err), "delivery to \(topic)[\(m.partition)]: \(String(cString: rd_kafka_err2str(m.err)))")
            failed.add(1, ordering: .relaxed)
        } else {
            delivered.add(1, ordering: .relaxed)
        }
        let report = KafkaDeliveryReport(id: id, topic: topic, partition: m.partition,
                                         offset: error == nil && m.offset >= 0 ? m.offset : nil, error: error)
        if let continuation = waiting.withLock({ $0.removeValue(forKey: id) }) {
            continuation.resume(returning: report)
        }
        handler?(report)
    }
}

/// librdkafka's delivery-report callback (runs inside rd_kafka_poll/flush on the producer's
/// own thread); the opaque is the producer's DeliveryContext (see above).
private func deliveryCallback(rk: OpaquePointer?, message: UnsafePointer<rd_kafka_message_t>?, opaque: UnsafeMutableRawPointer?) {
    guard let message, let opaque else { return }
    Unmanaged<DeliveryContext>.fromOpaque(opaque).takeUnretainedValue().report(message)
}
