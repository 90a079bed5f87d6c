// The consumer: group subscription with application-chosen start offsets, or
// manual assignment; batch poll; seek, pause and resume; optional Kafka-side
// commits; positions and lag; clean close.
//
// Threading: every call that may block in librdkafka runs on one of the
// consumer's own dispatch queues, never on the Swift cooperative pool. Poll,
// seek, pause, resume, assign and close share one serial queue, so a seek or a
// rebalance never interleaves with a batch being collected. Commits and
// watermark queries run on a second queue and may overlap a poll.
import CRdKafka
import Dispatch
import Synchronization

public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    let client: RDKafkaClient
    private let queue: RDKafkaQueue
    private let context: RebalanceContext
    private let pollQueue = DispatchQueue(label: "vigil.kafka.consumer.poll")
    private let blockingQueue = DispatchQueue(label: "vigil.kafka.consumer.blocking", attributes: .concurrent)
    private let closed = Atomic<Bool>(false)
    /// A non-retriable error seen while a batch also had messages; thrown by the next poll.
    private let deferredError = Mutex<KafkaError?>(nil)

    /// Creates the consumer; nothing is fetched before `subscribe` or `assign`.
    /// - Parameter partitionHandler: asked for start offsets on every group assignment and told
    ///   about revocations. Without one, assigned partitions start at `.stored`.
    public init(configuration: KafkaConsumerConfiguration, partitionHandler: (any KafkaPartitionHandler)? = nil) throws {
        self.configuration = configuration
        let context = RebalanceContext(handler: partitionHandler, logHandler: configuration.logHandler)
        let conf = try RDKafkaConfiguration.make(configuration.librdkafkaProperties)
        context.install(on: conf)
        let client = try RDKafkaClient(type: RD_KAFKA_CONSUMER, conf: conf, callbackContext: context)
        // Route the main queue (errors, rebalances) into the consumer queue that poll serves.
        rd_kafka_poll_set_consumer(client.pointer)
        self.client = client
        self.context = context
        self.queue = try RDKafkaQueue(consumerQueueOf: client)
    }

    // MARK: Assignment

    /// Joins the group for `topics`; partitions arrive through the partition handler during `poll`.
    public func subscribe(topics: [String]) throws {
        try checkOpen()
        guard !topics.isEmpty, topics.allSatisfy({ !$0.isEmpty }) else {
            throw KafkaError(.invalidArgument, "subscribe needs at least one non-empty topic name", isRetriable: false)
        }
        let list = RDKafkaTopicPartitionList(topics.map { (KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), 0) })
        let err = list.withListPointer { rd_kafka_subscribe(client.pointer, $0) }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "subscribe \(topics)") }
    }

    /// Manual assignment without the group protocol: consume exactly these partitions from
    /// these offsets (replaces the previous manual assignment).
    public func assign(_ offsets: [KafkaTopicPartition: KafkaOffset]) async throws {
        try await onPollQueue { [client, context] in
            for (partition, offset) in offsets where !offset.isValid || partition.partition < 0 {
                throw KafkaError(.invalidArgument, "cannot assign \(partition) at \(offset)", isRetriable: false)
            }
            let entries = offsets.sorted { $0.key < $1.key }
            let list = RDKafkaTopicPartitionList(entries.map { ($0.key, $0.value.rawValue) })
            let err = list.withListPointer { rd_kafka_assign(client.pointer, $0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "assign") }
            context.state.withLock { $0.assigned(entries.map { ($0.key, $0.value) }, replacing: true) }
        }
    }

    /// The partitions currently assigned to this consumer.
    /// Usable until `close` has finished (also from the partition handler during the close).
    public func assignment() throws -> [KafkaTopicPartition] {
        if client.consumerClosed.load(ordering: .acquiring) {
            throw KafkaError(.invalidState, "the consumer is closed", isRetriable: false)
        }
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(client.pointer, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError.rd(err, "assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList(borrowing: list).partitions.sorted()
    }

    // MARK: Poll

    /// Up to `maxMessages` messages, waiting at most `timeout` for the batch to fill (an empty
    /// array when nothing arrived). Per partition, offsets are strictly increasing and continue
    /// from the assigned or sought offset: stale messages fetched for an older assignment or
    /// before a seek are dropped. Rebalance callbacks run inside this call.
    /// Transient broker errors are absorbed (librdkafka reconnects); others throw KafkaError.
    public func poll(maxMessages: Int = 10_000, timeout: Duration = .milliseconds(100)) async throws -> [KafkaMessage] {
        guard maxMessages > 0 else {
            throw KafkaError(.invalidArgument, "maxMessages must be positive, got \(maxMessages)", isRetriable: false)
        }
        if let error = deferredError.withLock({ e -> KafkaError? in defer { e = nil }; return e }) { throw error }
        return try await onPollQueue { [self] in try self.pollBatch(maxMessages: maxMessages, timeoutMs: timeout.milliseconds, fill: true) }
    }

    /// Like `poll`, but without waiting for the batch to fill: waits at most `timeout` for a
    /// first message, then returns it with whatever else is already fetched (up to
    /// `maxMessages`). A caller that is busy between polls (a database commit) gets batches
    /// that grow with the arrival rate, and a lone message is not held back at low rates.
    public func pollAvailable(maxMessages: Int = 10_000, timeout: Duration = .milliseconds(100)) async throws -> [KafkaMessage] {
        guard maxMessages > 0 else {
            throw KafkaError(.invalidArgument, "maxMessages must be positive, got \(maxMessages)", isRetriable: false)
        }
        if let error = deferredError.withLock({ e -> KafkaError? in defer { e = nil }; return e }) { throw error }
        return try await onPollQueue { [self] in try self.pollBatch(maxMessages: maxMessages, timeoutMs: timeout.milliseconds, fill: false) }
    }

    /// Ends a poll waiting on an empty queue now (from any thread), so the caller's loop can
    /// take work that did not come from Kafka (synchronous scoring requests). A wake-up while
    /// no poll waits makes the next wait return at once; librdkafka keeps one such flag.
    public func wakeUp() {
        rd_kafka_queue_yield(queue.pointer)
    }

    /// Runs on `pollQueue`. `fill`: wait up to the timeout for `maxMessages`; otherwise take
    /// what is queued, or wait up to the timeout for one message and then take what is queued.
    private func pollBatch(maxMessages: Int, timeoutMs: Int, fill: Bool) throws -> [KafkaMessage] {
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: maxMessages)
        defer { buffer.deallocate() }
        var count: Int
        if fill {
            count = rd_kafka_consume_batch_queue(queue.pointer, Int32(timeoutMs), buffer, maxMessages)
        } else {
            count = rd_kafka_consume_batch_queue(queue.pointer, 0, buffer, maxMessages)
            if count == 0 {
                count = rd_kafka_consume_batch_queue(queue.pointer, Int32(timeoutMs), buffer, 1)
                if count == 1 && maxMessages > 1 {
                    // An error here surfaces on the next call; the message in hand is kept.
                    count += max(0, rd_kafka_consume_batch_queue(queue.pointer, 0, buffer + 1, maxMessages - 1))
                }
            }
        }
        if let error = context.takeError() {
            for index in 0..<max(0, count) { rd_kafka_message_destroy(buffer[index]) }
            throw error
        }
        guard count >= 0 else { throw KafkaError.rd(rd_kafka_last_error(), "consume batch") }
        // Pass 1: decide which messages the application gets (and what they need in bytes).
        var accepted: [(index: Int, topic: Int)] = []  // topic: index into `topics`
        accepted.reserveCapacity(count)
        var topics: [String] = []
        var byteCount = 0
        var failure: KafkaError?
        context.state.withLock { state in
            // Messages arrive in runs per partition: look the partition up once per run.
            var runTopic: OpaquePointer?
            var runPartition: Int32 = -1
            var runName = ""
            var runKey = KafkaTopicPartition(topic: "", partition: -1)
            var runAllowed = false
            var runNext: Int64? = nil
            func endRun() {
                if runAllowed, let runNext { state.next[runKey] = runNext }
            }
            for index in 0..<count {
                let m = buffer[index]!.pointee
                if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
                    let error = self.messageError(buffer[index]!)
                    if !error.isRetriable && failure == nil { failure = error }
                    continue
                }
                if m.rkt != runTopic || m.partition != runPartition {
                    endRun()
                    if m.rkt != runTopic {
                        runName = String(cString: rd_kafka_topic_name(m.rkt))
                        topics.append(runName)
                    }
                    runTopic = m.rkt
                    runPartition = m.partition
                    runKey = KafkaTopicPartition(topic: runName, partition: m.partition)
                    runAllowed = state.assignment.contains(runKey)
                    runNext = state.next[runKey]
                }
                guard runAllowed else { continue }  // revoked while this batch was collected
                if let expected = runNext, m.offset < expected { continue }  // stale: older assignment or seek
                runNext = m.offset + 1
                accepted.append((index, topics.count - 1))
                byteCount += m.len + (m.key == nil ? 0 : m.key_len)
            }
            endRun()
        }
        // Pass 2: copy all keys and values into one buffer per batch (one allocation instead
        // of two per message); each message holds slices of it.
        let arena = [UInt8](unsafeUninitializedCapacity: byteCount) { bytes, initialized in
            var position = 0
            for (index, _) in accepted {
                let m = buffer[index]!.pointee
                if let key = m.key, m.key_len > 0 {
                    (bytes.baseAddress! + position).initialize(from: key.assumingMemoryBound(to: UInt8.self), count: m.key_len)
                    position += m.key_len
                }
                if let payload = m.payload, m.len > 0 {
                    (bytes.baseAddress! + position).initialize(from: payload.assumingMemoryBound(to: UInt8.self), count: m.len)
                    position += m.len
                }
            }
            initialized = position
        }
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(accepted.count)
        var position = 0
        for (index, topic) in accepted {
            messages.append(KafkaMessage(copying: buffer[index]!, topic: topics[topic], arena: arena, position: &position))
        }
        for index in 0..<count { rd_kafka_message_destroy(buffer[index]) }
        if let failure {
            if messages.isEmpty { throw failure }
            deferredError.withLock { $0 = failure }
        }
        return messages
    }

    private func messageError(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaError {
        let m = message.pointee
        if m.err == RD_KAFKA_RESP_ERR__FATAL, let fatal = client.fatalError() { return fatal }
        var where_ = ""
        if let rkt = m.rkt { where_ = " \(String(cString: rd_kafka_topic_name(rkt)))[\(m.partition)]" }
        let detail = String(cString: rd_kafka_message_errstr(message))
        return KafkaError(.init(m.err), "consume\(where_): \(detail)")
    }

    // MARK: Flow control

    /// Moves `partition` to `offset`. Waits up to `timeout` for the fetcher to switch, so no
    /// message fetched before the seek is delivered afterwards.
    public func seek(_ partition: KafkaTopicPartition, to offset: KafkaOffset, timeout: Duration = .seconds(10)) async throws {
        try await onPollQueue { [client, context] in
            guard offset.isValid, offset != .stored else {
                throw KafkaError(.invalidArgument, "cannot seek \(partition) to \(offset)", isRetriable: false)
            }
            let list = RDKafkaTopicPartitionList([(partition, offset.rawValue)])
            if let error = list.withListPointer({ rd_kafka_seek_partitions(client.pointer, $0, Int32(timeout.milliseconds)) }) {
                throw KafkaError.consuming(error, "seek \(partition)")
            }
            if let error = list.firstError("seek") { throw error }
            context.state.withLock { state in
                if case .at(let value) = offset { state.next[partition] = value } else { state.next[partition] = nil }
            }
        }
    }

    /// Stops fetching `partitions` until `resume`; the assignment stays.
    public func pause(_ partitions: [KafkaTopicPartition]) async throws {
        try await onPollQueue { [client] in
            let list = RDKafkaTopicPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
            let err = list.withListPointer { rd_kafka_pause_partitions(client.pointer, $0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "pause") }
            if let error = list.firstError("pause") { throw error }
        }
    }

    /// Fetches `partitions` again from where the application left them.
    public func resume(_ partitions: [KafkaTopicPartition]) async throws {
        try await onPollQueue { [client] in
            let list = RDKafkaTopicPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
            let err = list.withListPointer { rd_kafka_resume_partitions(client.pointer, $0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "resume") }
            if let error = list.firstError("resume") { throw error }
        }
    }

    // MARK: Offsets in Kafka (monitoring only; the source of truth is the application's store)

    /// Commits `offsets` (each the NEXT offset to consume) to Kafka for the group, synchronously.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        for (partition, offset) in offsets where offset < 0 {
            throw KafkaError(.invalidArgument, "cannot commit offset \(offset) for \(partition)", isRetriable: false)
        }
        try await onBlockingQueue { [client] in
            let list = RDKafkaTopicPartitionList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            let err = list.withListPointer { rd_kafka_commit(client.pointer, $0, 0) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "commit") }
            if let error = list.firstError("commit") { throw error }
        }
    }

    /// Offsets committed in Kafka for the group; partitions without a commit are absent.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64] {
        try await onBlockingQueue { [client] in
            let list = RDKafkaTopicPartitionList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
            let err = list.withListPointer { rd_kafka_committed(client.pointer, $0, Int32(timeout.milliseconds)) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "committed") }
            var result: [KafkaTopicPartition: Int64] = [:]
            for entry in list.entries where entry.offset >= 0 { result[entry.partition] = entry.offset }
            return result
        }
    }

    /// Position and lag of every assigned partition. Asks the broker for the log ends
    /// (waiting at most `timeout` per partition).
    public func lag(timeout: Duration = .seconds(5)) async throws -> [KafkaPartitionLag] {
        let partitions = try assignment()
        let delivered = context.state.withLock { $0.next }
        return try await onBlockingQueue { [client] in
            try partitions.map { partition in
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(client.pointer, partition.topic, partition.partition,
                                                           &low, &high, Int32(timeout.milliseconds))
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.rd(err, "watermarks \(partition)") }
                // The high watermark of the last fetch response, when newer (some brokers, Tansu
                // among them, answer ListOffsets(latest) with the last batch's base offset).
                var cachedLow: Int64 = -1
                var cachedHigh: Int64 = -1
                if rd_kafka_get_watermark_offsets(client.pointer, partition.topic, partition.partition,
                                                  &cachedLow, &cachedHigh) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    high = max(high, cachedHigh)
                }
                return KafkaPartitionLag(partition: partition, position: delivered[partition], low: low, high: high)
            }
        }
    }

    // MARK: Lifecycle

    /// Leaves the group (the partition handler sees the final revocation) and stops fetching.
    /// Later calls throw `.invalidState`. Idempotent.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pollQueue.async { [client] in
                let err = rd_kafka_consumer_close(client.pointer)
                client.consumerClosed.store(true, ordering: .releasing)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    continuation.resume()
                } else {
                    continuation.resume(throwing: KafkaError.rd(err, "close"))
                }
            }
        }
    }

    private func checkOpen() throws(KafkaError) {
        if closed.load(ordering: .acquiring) {
            throw KafkaError(.invalidState, "the consumer is closed", isRetriable: false)
        }
    }

    private func onPollQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try checkOpen()
        if RebalanceContext.isInsideHandler {
            throw KafkaError(.invalidState, "poll, seek, pause, resume and assign cannot run inside the partition handler",
                             isRetriable: false)
        }
        return try await withCheckedThrowingContinuation { continuation in
            pollQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    func onBlockingQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try checkOpen()
        return try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
