// The producer: key, value and headers; delivery reports to Swift; flush with a
// timeout. A dedicated thread (a long-running block on the producer's own dispatch
// queue) serves librdkafka's callbacks; flush runs on another, so nothing blocks
// the Swift cooperative pool. Its lifecycle is one StateMachine
// (KafkaProducer+StateMachine.swift); the C calls are in RDKafka/.
import Dispatch
import Synchronization

public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    private let client: RDKafkaClient
    private let context: DeliveryContext
    private let shared = SharedState()
    private let pollerDone = DispatchSemaphore(value: 0)
    private let blockingQueue = DispatchQueue(label: "vigil.kafka.producer.blocking", attributes: .concurrent)

    /// - Parameter deliveryHandler: called once per message sent with `send`, on the
    ///   producer's callback thread (keep it short). `produce` callers get their report directly.
    public init(configuration: KafkaProducerConfiguration,
                deliveryHandler: (@Sendable (KafkaDeliveryReport) -> Void)? = nil) throws {
        self.configuration = configuration
        let context = DeliveryContext(handler: deliveryHandler)
        let client = try RDKafkaClient.producer(configuration.librdkafkaProperties, context: context)
        self.client = client
        self.context = context
        // The poller holds the client and the shared state, not the producer, so dropping
        // the producer stops it.
        let shared = shared
        let done = pollerDone
        DispatchQueue(label: "vigil.kafka.producer.poll").async {
            while shared.machine.withLock({ $0.pollerShouldRun }) {
                client.poll(timeoutMs: 100)
            }
            done.signal()
        }
    }

    deinit {
        shared.machine.withLock { $0.released() }
    }

    /// Messages delivered and failed so far (by delivery report).
    public var deliveryCounts: (delivered: Int, failed: Int) {
        (context.delivered.load(ordering: .relaxed), context.failed.load(ordering: .relaxed))
    }

    /// Totals from librdkafka's latest statistics report (`statisticsInterval`): bytes sent to
    /// the brokers (every request, after compression) and message bytes produced; nil before
    /// the first report or with statistics off.
    public var transmitted: (wireBytes: Int, messageBytes: Int)? {
        let wire = context.transmittedBytes.load(ordering: .relaxed), messages = context.transmittedMessageBytes.load(ordering: .relaxed)
        return wire < 0 ? nil : (wire, max(0, messages))
    }

    /// Messages waiting in librdkafka for delivery.
    public var outstanding: Int { client.outstandingMessages }

    /// Enqueues a message without waiting for it (the report goes to the delivery handler).
    /// Returns the id its report carries. Throws `.queueFull` (retriable) when librdkafka's
    /// queue is full: wait for deliveries (e.g. `flush`) and retry.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) throws -> UInt64 {
        try checkOpen()
        let id = context.makeID()
        try enqueue(message, id: id)
        return id
    }

    /// `send`, waiting out a full local queue (a millisecond at a time, without blocking a
    /// thread) instead of throwing `.queueFull`; other errors are thrown.
    @discardableResult
    public func sendWhenQueued(_ message: KafkaProducerMessage) async throws -> UInt64 {
        while true {
            do {
                return try send(message)
            } catch let error as KafkaError where error.code == .queueFull {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Sends a message and waits for its delivery report; throws the delivery error.
    /// A full local queue is waited out (the wait does not block a thread).
    @discardableResult
    public func produce(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try checkOpen()
        let id = context.makeID()
        while true {
            do {
                let report: KafkaDeliveryReport = try await withCheckedThrowingContinuation { continuation in
                    // Resumed by the delivery callback, or here when the message never got in.
                    context.await(id, continuation)
                    do {
                        try enqueue(message, id: id)
                    } catch {
                        context.cancel(id)?.resume(throwing: error)
                    }
                }
                if let error = report.error { throw error }
                return report
            } catch let error as KafkaError where error.code == .queueFull {
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Waits until every message was delivered or failed, at most `timeout`.
    /// Throws `.timedOut` (with the count still outstanding) when time ran out.
    public func flush(timeout: Duration) async throws {
        try checkOpen()
        try await flushOnBlockingQueue(timeout: timeout)
    }

    private func flushOnBlockingQueue(timeout: Duration) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            blockingQueue.async { [client] in
                continuation.resume(with: Result { () throws(KafkaError) in try client.flush(timeoutMs: timeout.milliseconds) }
                    .mapError { $0 as any Error })
            }
        }
    }

    /// Flushes (at most `timeout`), then stops the callback thread. Sends are refused from
    /// the moment the close begins. Idempotent.
    public func close(timeout: Duration = .seconds(30)) async throws {
        guard case .flush = shared.machine.withLock({ $0.closeRequested() }) else { return }
        var flushError: (any Error)?
        do { try await flushOnBlockingQueue(timeout: timeout) } catch { flushError = error }
        guard case .awaitPollerStop = shared.machine.withLock({ $0.closeFlushed() }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            blockingQueue.async { [pollerDone] in
                pollerDone.wait()  // at most one poll timeout (100 ms)
                continuation.resume()
            }
        }
        if let flushError { throw flushError }
    }

    private func checkOpen() throws(KafkaError) {
        try shared.machine.withLock { machine throws(KafkaError) in try machine.checkOpen() }
    }

    /// Hands the message to librdkafka (copied), tagged with `id` for its delivery report.
    private func enqueue(_ message: KafkaProducerMessage, id: UInt64) throws(KafkaError) {
        guard !message.topic.isEmpty else {
            throw KafkaError(.invalidArgument, "message without a topic", isRetriable: false)
        }
        try client.produce(message, id: id)
    }
}
