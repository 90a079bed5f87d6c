// The producer: key, value and headers; delivery reports to Swift; flush with a
// timeout. A dedicated thread (a long-running block on the producer's own dispatch
// queue) serves librdkafka's callbacks; flush runs on another, so nothing blocks
// the Swift cooperative pool.
import CRdKafka
import Dispatch
import Synchronization

public final class KafkaProducer: Sendable {
    public let configuration: KafkaProducerConfiguration
    private let client: RDKafkaClient
    private let context: DeliveryContext
    private let poller = PollerFlag()
    private let pollerDone = DispatchSemaphore(value: 0)
    private let blockingQueue = DispatchQueue(label: "vigil.kafka.producer.blocking", attributes: .concurrent)
    private let closed = Atomic<Bool>(false)

    /// - Parameter deliveryHandler: called once per message sent with `send`, on the
    ///   producer's callback thread (keep it short). `produce` callers get their report directly.
    public init(configuration: KafkaProducerConfiguration,
                deliveryHandler: (@Sendable (KafkaDeliveryReport) -> Void)? = nil) throws {
        self.configuration = configuration
        let context = DeliveryContext(handler: deliveryHandler)
        let conf = try RDKafkaConfiguration.make(configuration.librdkafkaProperties)
        context.install(on: conf)
        let client = try RDKafkaClient(type: RD_KAFKA_PRODUCER, conf: conf, callbackContext: context)
        self.client = client
        self.context = context
        // The poller holds the client, not the producer, so dropping the producer stops it.
        let flag = poller
        let done = pollerDone
        DispatchQueue(label: "vigil.kafka.producer.poll").async {
            while !flag.stop.load(ordering: .relaxed) {
                rd_kafka_poll(client.pointer, 100)
            }
            done.signal()
        }
    }

    deinit {
        poller.stop.store(true, ordering: .relaxed)
    }

    /// Messages delivered and failed so far (by delivery report).
    public var deliveryCounts: (delivered: Int, failed: Int) {
        (context.delivered.load(ordering: .relaxed), context.failed.load(ordering: .relaxed))
    }

    /// Messages waiting in librdkafka for delivery.
    public var outstanding: Int { Int(rd_kafka_outq_len(client.pointer)) }

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
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            blockingQueue.async { [client] in
                let err = rd_kafka_flush(client.pointer, Int32(timeout.milliseconds))
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    continuation.resume()
                } else {
                    let left = rd_kafka_outq_len(client.pointer)
                    continuation.resume(throwing: KafkaError.rd(err, "flush (\(left) messages outstanding)"))
                }
            }
        }
    }

    /// Flushes (at most `timeout`), then stops the callback thread. Idempotent.
    public func close(timeout: Duration = .seconds(30)) async throws {
        if closed.load(ordering: .acquiring) { return }
        var flushError: (any Error)?
        do { try await flush(timeout: timeout) } catch { flushError = error }
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        poller.stop.store(true, ordering: .relaxed)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            blockingQueue.async { [pollerDone] in
                pollerDone.wait()  // at most one rd_kafka_poll timeout (100 ms)
                continuation.resume()
            }
        }
        if let flushError { throw flushError }
    }

    private func checkOpen() throws(KafkaError) {
        if closed.load(ordering: .acquiring) {
            throw KafkaError(.invalidState, "the producer is closed", isRetriable: false)
        }
    }

    /// Hands the message to librdkafka (copied), tagged with `id` for its delivery report.
    private func enqueue(_ message: KafkaProducerMessage, id: UInt64) throws(KafkaError) {
        guard !message.topic.isEmpty else {
            throw KafkaError(.invalidArgument, "message without a topic", isRetriable: false)
        }
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            headers = rd_kafka_headers_new(message.headers.count)
            for header in message.headers {
                if let value = header.value {
                    _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.name, -1, $0.baseAddress, $0.count) }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                withKey(message.key) { key in
                    var vus: [rd_kafka_vu_t] = []
                    vus.reserveCapacity(8)
                    var vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_TOPIC; vu.u.cstr = topic; vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS; vu.u.i = RD_KAFKA_MSG_F_COPY; vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_VALUE
                    vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress); vu.u.mem.size = value.count
                    vus.append(vu)
                    vu = rd_kafka_vu_t()
                    vu.vtype = RD_KAFKA_VTYPE_OPAQUE; vu.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id)); vus.append(vu)
                    if let key {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_KEY
                        vu.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress); vu.u.mem.size = key.count
                        vus.append(vu)
                    }
                    if let partition = message.partition {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_PARTITION; vu.u.i32 = partition; vus.append(vu)
                    }
                    if let timestamp = message.timestampMilliseconds {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_TIMESTAMP; vu.u.i64 = timestamp; vus.append(vu)
                    }
                    if let headers {
                        vu = rd_kafka_vu_t()
                        vu.vtype = RD_KAFKA_VTYPE_HEADERS; vu.u.headers = headers; vus.append(vu)
                    }
                    return rd_kafka_produceva(client.pointer, vus, vus.count)
                }
            }
        }
        if let error {
            // On failure the headers stay ours.
            if let headers { rd_kafka_headers_destroy(headers) }
            throw KafkaError.consuming(error, "produce to \(message.topic)")
        }
    }
}

private func withKey<T>(_ key: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> T) -> T {
    guard let key else { return body(nil) }
    return key.withUnsafeBytes { body($0) }
}

/// The poller's stop signal, shared by the producer and its polling block.
private final class PollerFlag: Sendable {
    let stop = Atomic<Bool>(false)
}
