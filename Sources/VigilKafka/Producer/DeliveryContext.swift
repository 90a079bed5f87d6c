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
    /// From librdkafka's latest statistics: bytes sent to brokers (requests, after
    /// compression) and message bytes produced; -1 before the first report.
    let transmittedBytes = Atomic<Int>(-1)
    let transmittedMessageBytes = Atomic<Int>(-1)

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

    /// One statistics report (JSON) from librdkafka's callback thread: keeps its totals.
    func statistics(_ json: String) {
        if let bytes = Self.topLevelInteger("tx_bytes", in: json) { transmittedBytes.store(bytes, ordering: .relaxed) }
        if let bytes = Self.topLevelInteger("txmsg_bytes", in: json) { transmittedMessageBytes.store(bytes, ordering: .relaxed) }
    }

    /// The integer value of `"key":` where it first appears; librdkafka writes the top-level
    /// totals before the per-broker and per-topic objects.
    static func topLevelInteger(_ key: String, in json: String) -> Int? {
        let text = Array(json.utf8), needle = Array("\"\(key)\":".utf8)
        guard text.count >= needle.count,
              let start = (0...(text.count - needle.count)).first(where: { text[$0..<($0 + needle.count)].elementsEqual(needle) }) else { return nil }
        let digits = text[(start + needle.count)...].drop { $0 == UInt8(ascii: " ") }
            .prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-") }
        return Int(String(decoding: digits, as: UTF8.self))
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
