// The bridge from librdkafka's rebalance callback to the application's
// KafkaPartitionHandler. librdkafka calls the callback on the thread that polls
// (the consumer's own queue, never the Swift cooperative pool); it waits there
// for the application's async handler, then assigns or unassigns. The C side
// (callback, lifetime of this object) is in RDKafka/RDKafkaCallbacks.swift.
import Dispatch
import Synchronization

final class RebalanceContext: Sendable {
    /// Set while the application's handler runs, so re-entrant calls fail instead of deadlocking.
    @TaskLocal static var isInsideHandler = false

    private let handler: (any KafkaPartitionHandler)?
    /// librdkafka's log lines go here when set.
    let logHandler: KafkaLogHandler?
    /// The consumer's state, here because both the consumer and the callbacks (which reach
    /// only this object) change it.
    let machine = Mutex(KafkaConsumer.StateMachine())

    init(handler: (any KafkaPartitionHandler)?, logHandler: KafkaLogHandler? = nil) {
        self.handler = handler
        self.logHandler = logHandler
    }

    func rebalance(_ change: RDKafkaRebalance) {
        switch change.kind {
        case .assign:
            assign(change)
        case .revoke:
            let revoked = change.partitions
            let lost = change.isAssignmentLost
            machine.withLock { $0.revoked(revoked, all: !change.isCooperative) }
            if let handler {
                runHandler {
                    if lost { await handler.partitionsLost(revoked) } else { await handler.partitionsRevoked(revoked) }
                }
            }
            if let error = change.unassign() { record(error) }
        case .failed(let error):
            record(error)
            change.unassignAll()
        }
    }

    private func assign(_ change: RDKafkaRebalance) {
        let assigned = change.partitions
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        if let handler {
            let result = runHandler { try await handler.startOffsets(for: assigned) }
            switch result {
            case .success(let chosen):
                offsets = chosen
            case .failure(let error):
                record(KafkaError(.partitionHandlerFailed, "start offsets for \(assigned): \(error)", isRetriable: false))
                // Without the application's offsets the partitions must not be consumed.
                if !change.isCooperative { change.unassignAll() }
                return
            }
        }
        let chosen = assigned.map { ($0, offsets[$0] ?? KafkaOffset.stored) }
        for (partition, offset) in chosen where !offset.isValid {
            record(KafkaError(.invalidArgument, "start offset \(offset) for \(partition) is negative", isRetriable: false))
            if !change.isCooperative { change.unassignAll() }
            return
        }
        if let error = change.assign(at: chosen.map(\.1)) {
            record(error)
            return
        }
        machine.withLock { $0.assigned(chosen, replacing: !change.isCooperative) }
    }

    private func record(_ error: KafkaError) {
        machine.withLock { $0.record(error) }
    }

    /// Runs the application's async handler to completion on the cooperative pool while this
    /// (librdkafka's polling) thread waits: the group must not move on before it returns.
    @discardableResult
    private func runHandler<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let result: Result<T, any Error>
            do {
                result = .success(try await RebalanceContext.$isInsideHandler.withValue(true) { try await body() })
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.withLock { $0! }
    }
}
