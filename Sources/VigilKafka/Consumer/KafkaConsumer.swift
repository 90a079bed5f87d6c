// The consumer: group subscription with application-chosen start offsets, or
// manual assignment; batch poll; seek, pause and resume; optional Kafka-side
// commits; positions and lag; clean close.
//
// Threading: every call that may block in librdkafka runs on one of the
// consumer's own dispatch queues, never on the Swift cooperative pool. Poll,
// seek, pause, resume, assign and close share one serial queue, so a seek or a
// rebalance never interleaves with a batch being collected. Commits and
// watermark queries run on a second queue and may overlap a poll.
//
// What changes while the consumer runs (open or closed, the error for the next
// poll, what the application owns) is one StateMachine behind one lock
// (KafkaConsumer+StateMachine.swift); the C calls are in RDKafka/.
import Dispatch
import Synchronization

public final class KafkaConsumer: Sendable {
    public let configuration: KafkaConsumerConfiguration
    let client: RDKafkaClient
    private let queue: RDKafkaQueue
    let context: RebalanceContext
    private let pollQueue = DispatchQueue(label: "vigil.kafka.consumer.poll")
    private let blockingQueue = DispatchQueue(label: "vigil.kafka.consumer.blocking", attributes: .concurrent)

    /// Creates the consumer; nothing is fetched before `subscribe` or `assign`.
    /// - Parameter partitionHandler: asked for start offsets on every group assignment and told
    ///   about revocations. Without one, assigned partitions start at `.stored`.
    public init(configuration: KafkaConsumerConfiguration, partitionHandler: (any KafkaPartitionHandler)? = nil) throws {
        self.configuration = configuration
        let context = RebalanceContext(handler: partitionHandler, logHandler: configuration.logHandler)
        let client = try RDKafkaClient.consumer(configuration.librdkafkaProperties, context: context)
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
        try client.subscribe(topics)
    }

    /// Manual assignment without the group protocol: consume exactly these partitions from
    /// these offsets (replaces the previous manual assignment).
    public func assign(_ offsets: [KafkaTopicPartition: KafkaOffset]) async throws {
        try await onPollQueue { [client, context] in
            for (partition, offset) in offsets where !offset.isValid || partition.partition < 0 {
                throw KafkaError(.invalidArgument, "cannot assign \(partition) at \(offset)", isRetriable: false)
            }
            let entries = offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            try client.assign(entries)
            context.machine.withLock { $0.assigned(entries, replacing: true) }
        }
    }

    /// The partitions currently assigned to this consumer.
    /// Usable until `close` has finished (also from the partition handler during the close).
    public func assignment() throws -> [KafkaTopicPartition] {
        try context.machine.withLock { machine throws(KafkaError) in try machine.checkNotClosed() }
        return try client.assignment()
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
        if case .fail(let error) = context.machine.withLock({ $0.pollRequested() }) { throw error }
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
        if case .fail(let error) = context.machine.withLock({ $0.pollRequested() }) { throw error }
        return try await onPollQueue { [self] in try self.pollBatch(maxMessages: maxMessages, timeoutMs: timeout.milliseconds, fill: false) }
    }

    /// Ends a poll waiting on an empty queue now (from any thread), so the caller's loop can
    /// take work that did not come from Kafka (synchronous scoring requests). A wake-up while
    /// no poll waits makes the next wait return at once; librdkafka keeps one such flag.
    public func wakeUp() {
        queue.yield()
    }

    /// Runs on `pollQueue`. `fill`: wait up to the timeout for `maxMessages`; otherwise take
    /// what is queued, or wait up to the timeout for one message and then take what is queued.
    private func pollBatch(maxMessages: Int, timeoutMs: Int, fill: Bool) throws -> [KafkaMessage] {
        let batch = RDKafkaMessageBatch(consumingFrom: queue, maxMessages: maxMessages, timeoutMs: timeoutMs, fill: fill)
        // A rebalance callback failed during the call: its partitions' messages must not go out.
        if let error = context.machine.withLock({ $0.takePendingError() }) { throw error }
        if let error = batch.error { throw error }
        // Pass 1: decide which messages the application gets (and what they need in bytes).
        var accepted: [(index: Int, topic: Int)] = []  // topic: index into `topics`
        accepted.reserveCapacity(batch.count)
        var topics: [String] = []
        var byteCount = 0
        var failure: KafkaError?
        let action = context.machine.withLock { machine in
            // Messages arrive in runs per partition: look the partition up once per run.
            var runTopic: OpaquePointer?
            var runPartition: Int32 = -1
            var runName = ""
            var runKey = KafkaTopicPartition(topic: "", partition: -1)
            var runCursor: StateMachine.DeliveryCursor?
            for index in 0..<batch.count {
                let entry = batch.entry(at: index)
                switch entry.kind {
                case .message: break
                case .endOfPartition: continue
                case .failed:
                    let error = batch.error(at: index, of: client)
                    if !error.isRetriable && failure == nil { failure = error }
                    continue
                }
                if entry.topic != runTopic || entry.partition != runPartition {
                    if let runCursor { machine.delivered(runKey, runCursor) }
                    if entry.topic != runTopic {
                        runName = batch.topicName(at: index)
                        topics.append(runName)
                    }
                    runTopic = entry.topic
                    runPartition = entry.partition
                    runKey = KafkaTopicPartition(topic: runName, partition: entry.partition)
                    runCursor = machine.cursor(for: runKey)
                }
                // Not assigned: revoked while this batch was collected. Not accepted: stale
                // (fetched for an older assignment or before a seek).
                guard runCursor?.accept(entry.offset) == true else { continue }
                accepted.append((index, topics.count - 1))
                byteCount += entry.byteCount
            }
            if let runCursor { machine.delivered(runKey, runCursor) }
            return machine.batchSorted(accepted: accepted.count, failure: failure)
        }
        if case .fail(let error) = action { throw error }
        // Pass 2: copy the accepted messages out of librdkafka's buffers.
        return batch.messages(accepted, topics: topics, byteCount: byteCount)
    }

    // MARK: Flow control

    /// Moves `partition` to `offset`. Waits up to `timeout` for the fetcher to switch, so no
    /// message fetched before the seek is delivered afterwards.
    public func seek(_ partition: KafkaTopicPartition, to offset: KafkaOffset, timeout: Duration = .seconds(10)) async throws {
        try await onPollQueue { [client, context] in
            guard offset.isValid, offset != .stored else {
                throw KafkaError(.invalidArgument, "cannot seek \(partition) to \(offset)", isRetriable: false)
            }
            try client.seek(partition, to: offset, timeoutMs: timeout.milliseconds)
            context.machine.withLock { $0.sought(partition, to: offset) }
        }
    }

    /// Stops fetching `partitions` until `resume`; the assignment stays.
    public func pause(_ partitions: [KafkaTopicPartition]) async throws {
        try await onPollQueue { [client] in try client.setPaused(true, partitions) }
    }

    /// Fetches `partitions` again from where the application left them.
    public func resume(_ partitions: [KafkaTopicPartition]) async throws {
        try await onPollQueue { [client] in try client.setPaused(false, partitions) }
    }

    // MARK: Offsets in Kafka (monitoring only; the source of truth is the application's store)

    /// Commits `offsets` (each the NEXT offset to consume) to Kafka for the group, synchronously.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        for (partition, offset) in offsets where offset < 0 {
            throw KafkaError(.invalidArgument, "cannot commit offset \(offset) for \(partition)", isRetriable: false)
        }
        try await onBlockingQueue { [client] in
            try client.commit(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        }
    }

    /// Offsets committed in Kafka for the group; partitions without a commit are absent.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws -> [KafkaTopicPartition: Int64] {
        try await onBlockingQueue { [client] in try client.committed(partitions, timeoutMs: timeout.milliseconds) }
    }

    /// Position and lag of every assigned partition. Asks the broker for the log ends
    /// (waiting at most `timeout` per partition).
    public func lag(timeout: Duration = .seconds(5)) async throws -> [KafkaPartitionLag] {
        let partitions = try assignment()
        let delivered = context.machine.withLock { $0.next }
        return try await onBlockingQueue { [client] in
            try partitions.map { partition in
                let (low, high) = try client.queryWatermarks(partition, timeoutMs: timeout.milliseconds)
                // The high watermark of the last fetch response, when newer (some brokers, Tansu
                // among them, answer ListOffsets(latest) with the last batch's base offset).
                let fetched = client.fetchedHighWatermark(partition) ?? high
                return KafkaPartitionLag(partition: partition, position: delivered[partition], low: low, high: max(high, fetched))
            }
        }
    }

    // MARK: Lifecycle

    /// Leaves the group (the partition handler sees the final revocation) and stops fetching.
    /// Later calls throw `.invalidState`. Idempotent.
    public func close() async throws {
        guard case .close = context.machine.withLock({ $0.closeRequested() }) else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pollQueue.async { [client, context] in
                let result = Result { () throws(KafkaError) in try client.closeConsumer() }
                context.machine.withLock { $0.closeFinished() }
                continuation.resume(with: result.mapError { $0 as any Error })
            }
        }
    }

    private func checkOpen() throws(KafkaError) {
        try context.machine.withLock { machine throws(KafkaError) in try machine.checkOpen() }
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
