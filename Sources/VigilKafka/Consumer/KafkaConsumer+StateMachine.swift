// Everything about a consumer that changes while it runs, in one value behind one
// lock: whether it is open, the error the next poll must throw, and what the
// application has been given (assignment and, per partition, the next offset to
// deliver). The consumer's calls and librdkafka's rebalance callbacks ask it what
// to do; it does no I/O, so it is unit-tested on its own.

extension KafkaConsumer {
    struct StateMachine: Sendable {
        enum State: Sendable {
            /// Accepting calls. `pendingError` is thrown by the next poll: the first error a
            /// rebalance callback recorded, or a non-retriable message error seen in a batch
            /// that also had messages (which were delivered first).
            case open(pendingError: KafkaError?)
            /// `close` is leaving the group: the final revocation arrives, and only the
            /// assignment can still be read (the partition handler may ask for it).
            case closing
            /// librdkafka's consumer close has returned; every call throws `.invalidState`.
            case closed
        }

        private(set) var state: State = .open(pendingError: nil)
        /// The partitions the application currently owns.
        private(set) var assignment: Set<KafkaTopicPartition> = []
        /// Next offset the application expects; messages below it are stale (fetched for an
        /// older assignment or before a seek) and are dropped. Absent: accept the first one.
        private(set) var next: [KafkaTopicPartition: Int64] = [:]

        // MARK: Lifecycle

        enum PollAction {
            /// Take a batch from the queue.
            case poll
            /// Throw instead of polling.
            case fail(KafkaError)
        }

        /// A poll is about to start: it throws the pending error (clearing it) or the closed error.
        mutating func pollRequested() -> PollAction {
            switch state {
            case .open(let pending?):
                state = .open(pendingError: nil)
                return .fail(pending)
            case .open(nil):
                return .poll
            case .closing, .closed:
                return .fail(Self.closedError)
            }
        }

        /// Calls other than poll and the assignment read run only while open.
        func checkOpen() throws(KafkaError) {
            guard case .open = state else { throw Self.closedError }
        }

        /// The close has finished.
        var isClosed: Bool {
            if case .closed = state { return true }
            return false
        }

        /// The assignment can be read until the close has finished.
        func checkNotClosed() throws(KafkaError) {
            if isClosed { throw Self.closedError }
        }

        enum CloseAction {
            /// Leave the group, then report `closeFinished`.
            case close
            /// Another close has begun or finished: nothing to do (close is idempotent).
            case none
        }

        mutating func closeRequested() -> CloseAction {
            guard case .open = state else { return .none }
            state = .closing
            return .close
        }

        mutating func closeFinished() {
            guard case .closing = state else {
                preconditionFailure("KafkaConsumer: the close finished in state \(state), not while closing")
            }
            state = .closed
        }

        /// Keeps the first error of a rebalance callback (or of a batch that delivered
        /// messages) for the next poll. Errors during the close have no poll to go to.
        mutating func record(_ error: KafkaError) {
            switch state {
            case .open(nil): state = .open(pendingError: error)
            case .open(.some), .closing: break
            case .closed: preconditionFailure("KafkaConsumer: error recorded after the close finished: \(error)")
            }
        }

        /// The error recorded since the last poll, cleared by taking it.
        mutating func takePendingError() -> KafkaError? {
            guard case .open(let pending?) = state else { return nil }
            state = .open(pendingError: nil)
            return pending
        }

        // MARK: What the application owns

        /// The application now owns `offsets`' partitions, starting at those offsets.
        /// `replacing`: an eager rebalance or a manual assignment (everything else goes).
        mutating func assigned(_ offsets: [(KafkaTopicPartition, KafkaOffset)], replacing: Bool) {
            if case .closed = state { preconditionFailure("KafkaConsumer: partitions assigned after the close finished") }
            if replacing {
                assignment.removeAll()
                next.removeAll()
            }
            for (partition, offset) in offsets {
                assignment.insert(partition)
                if case .at(let value) = offset { next[partition] = value } else { next[partition] = nil }
            }
        }

        /// The application no longer owns `partitions` (`all`: an eager revocation, everything).
        mutating func revoked(_ partitions: [KafkaTopicPartition], all: Bool) {
            if case .closed = state { preconditionFailure("KafkaConsumer: partitions revoked after the close finished") }
            if all {
                assignment.removeAll()
                next.removeAll()
            } else {
                for partition in partitions {
                    assignment.remove(partition)
                    next[partition] = nil
                }
            }
        }

        /// `partition` was moved to `offset`: only messages from there on are delivered.
        mutating func sought(_ partition: KafkaTopicPartition, to offset: KafkaOffset) {
            if case .at(let value) = offset { next[partition] = value } else { next[partition] = nil }
        }

        // MARK: Delivery

        /// Which messages of one partition may go to the application.
        struct DeliveryCursor {
            /// The lowest offset still acceptable; nil: any (nothing delivered since assignment).
            var next: Int64?

            /// True for the next message in order, which it then moves past; false for a stale one.
            mutating func accept(_ offset: Int64) -> Bool {
                if let next, offset < next { return false }
                next = offset + 1
                return true
            }
        }

        /// The cursor for messages of `partition`, or nil when it is not assigned (revoked
        /// while the batch was collected: its messages are dropped).
        func cursor(for partition: KafkaTopicPartition) -> DeliveryCursor? {
            assignment.contains(partition) ? DeliveryCursor(next: next[partition]) : nil
        }

        /// Stores how far a run of `partition`'s messages got.
        mutating func delivered(_ partition: KafkaTopicPartition, _ cursor: DeliveryCursor) {
            if let position = cursor.next { next[partition] = position }
        }

        /// What a collected batch leads to once its messages were sorted.
        enum BatchAction {
            case deliver
            case fail(KafkaError)
        }

        /// A non-retriable message error in a batch fails the poll when nothing was accepted;
        /// otherwise the messages go out and the error waits for the next poll.
        mutating func batchSorted(accepted: Int, failure: KafkaError?) -> BatchAction {
            guard let failure else { return .deliver }
            if accepted == 0 { return .fail(failure) }
            record(failure)
            return .deliver
        }

        private static var closedError: KafkaError {
            KafkaError(.invalidState, "the consumer is closed", isRetriable: false)
        }
    }
}
