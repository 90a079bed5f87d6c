// The bridge from librdkafka's rebalance callback to the application's
// KafkaPartitionHandler. librdkafka calls the callback on the thread that polls
// (the consumer's own queue, never the Swift cooperative pool); it waits there
// for the application's async handler, then assigns or unassigns.
//
// Lifetime: the consumer's RDKafkaClient holds this object strongly as its
// callback context and destroys the rd_kafka_t before releasing it, so the
// unretained pointer in the configuration opaque is valid for every callback.
import CRdKafka
import Dispatch
import Synchronization

final class RebalanceContext: Sendable {
    /// Set while the application's handler runs, so re-entrant calls fail instead of deadlocking.
    @TaskLocal static var isInsideHandler = false

    /// Also tracks what the application has been given, because rebalances change it:
    /// the current assignment and, per partition, the next offset to deliver.
    struct State {
        var pendingError: KafkaError?
        var assignment: Set<KafkaTopicPartition> = []
        /// Next offset the application expects; messages below it are stale (fetched for an
        /// older assignment or before a seek) and are dropped. Absent: accept the first one.
        var next: [KafkaTopicPartition: Int64] = [:]

        mutating func assigned(_ offsets: [(KafkaTopicPartition, KafkaOffset)], replacing: Bool) {
            if replacing {
                assignment.removeAll()
                next.removeAll()
            }
            for (partition, offset) in offsets {
                assignment.insert(partition)
                if case .at(let value) = offset { next[partition] = value } else { next[partition] = nil }
            }
        }

        mutating func revoked(_ partitions: [KafkaTopicPartition], all: Bool) {
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
    }

    private let handler: (any KafkaPartitionHandler)?
    /// librdkafka's log lines go here when set (see `KafkaLogContext`).
    let logHandler: KafkaLogHandler?
    let state = Mutex(State())

    init(handler: (any KafkaPartitionHandler)?, logHandler: KafkaLogHandler? = nil) {
        self.handler = handler
        self.logHandler = logHandler
    }

    /// Installs the callbacks on a configuration that is about to become a consumer handle.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        if logHandler != nil { rd_kafka_conf_set_log_cb(conf, consumerLogCallback) }
    }

    /// An error a callback recorded during the last poll, cleared by reading it.
    func takeError() -> KafkaError? {
        state.withLock { s in
            defer { s.pendingError = nil }
            return s.pendingError
        }
    }

    fileprivate func rebalance(_ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
                               _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        let partitions = RDKafkaTopicPartitionList(borrowing: list)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            assign(rk, partitions, cooperative: cooperative)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = partitions.partitions
            let lost = rd_kafka_assignment_lost(rk) != 0
            state.withLock { $0.revoked(revoked, all: !cooperative) }
            if let handler {
                runHandler {
                    if lost { await handler.partitionsLost(revoked) } else { await handler.partitionsRevoked(revoked) }
                }
            }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, list) {
                    record(.consuming(error, "incremental unassign"))
                }
            } else {
                let result = rd_kafka_assign(rk, nil)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { record(.rd(result, "unassign")) }
            }
        default:
            record(.rd(err, "rebalance"))
            _ = rd_kafka_assign(rk, nil)
        }
    }

    private func assign(_ rk: OpaquePointer, _ partitions: RDKafkaTopicPartitionList, cooperative: Bool) {
        let assigned = partitions.partitions
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        if let handler {
            let result = runHandler { try await handler.startOffsets(for: assigned) }
            switch result {
            case .success(let chosen):
                offsets = chosen
            case .failure(let error):
                record(KafkaError(.partitionHandlerFailed, "start offsets for \(assigned): \(error)", isRetriable: false))
                // Without the application's offsets the partitions must not be consumed.
                if !cooperative { _ = rd_kafka_assign(rk, nil) }
                return
            }
        }
        for (index, partition) in assigned.enumerated() {
            let offset = offsets[partition] ?? .stored
            guard offset.isValid else {
                record(KafkaError(.invalidArgument, "start offset \(offset) for \(partition) is negative", isRetriable: false))
                if !cooperative { _ = rd_kafka_assign(rk, nil) }
                return
            }
            partitions.setOffset(at: index, offset.rawValue)
        }
        let ok = partitions.withListPointer { list -> Bool in
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, list) {
                    record(.consuming(error, "incremental assign"))
                    return false
                }
            } else {
                let result = rd_kafka_assign(rk, list)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    record(.rd(result, "assign"))
                    return false
                }
            }
            return true
        }
        if ok {
            let chosen = assigned.map { ($0, offsets[$0] ?? KafkaOffset.stored) }
            state.withLock { $0.assigned(chosen, replacing: !cooperative) }
        }
    }

    private func record(_ error: KafkaError) {
        state.withLock { if $0.pendingError == nil { $0.pendingError = error } }
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

/// librdkafka's rebalance callback; the opaque is the consumer's RebalanceContext (see above).
private func rebalanceCallback(rk: OpaquePointer?, err: rd_kafka_resp_err_t,
                               partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                               opaque: UnsafeMutableRawPointer?) {
    guard let rk, let partitions, let opaque else { return }
    Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue().rebalance(rk, err, partitions)
}

/// librdkafka's log callback for consumers: the opaque is the consumer's RebalanceContext,
/// alive until rd_kafka_destroy has returned (see the file header). librdkafka may log
/// before the handle is fully made; the opaque is set on the configuration first.
private func consumerLogCallback(_ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?) {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
    let context = Unmanaged<RebalanceContext>.fromOpaque(opaque).takeUnretainedValue()
    guard let handler = context.logHandler else { return }
    handler(KafkaLogMessage(level: level, facility: facility.map { String(cString: $0) } ?? "",
                            message: text.map { String(cString: $0) } ?? "", client: String(cString: rd_kafka_name(rk))))
}
