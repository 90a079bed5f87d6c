// The bridge from librdkafka's delivery-report callback to Swift: continuations of
// `produce` calls waiting for their message, the application's report handler,
// and counters.
//
// The C callback that calls `report` and who keeps this object alive are in
// RDKafka/RDKafkaCallbacks.swift.
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

    /// One delivery report from librdkafka's callback thread: resumes the `produce` call
    /// waiting for it, counts it, and passes it to the application's handler.
    func report(_ report: KafkaDeliveryReport) {
        if report.error != nil {
            failed.add(1, ordering: .relaxed)
        } else {
            delivered.add(1, ordering: .relaxed)
        }
        if let continuation = waiting.withLock({ $0.removeValue(forKey: report.id) }) {
            continuation.resume(returning: report)
        }
        handler?(report)
    }
}
