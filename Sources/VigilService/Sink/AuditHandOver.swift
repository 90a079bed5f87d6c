// Write-behind: the batch loop hands a decided batch to the writer and decides the next one
// while the previous batch's transaction runs (on the connection's own queue). The hand-over
// is bounded to one batch in writing: handing over the next waits for it. A batch is decided
// from the state its predecessor left, so when a write fails (fenced, or the database failed)
// the batch behind it is dropped unwritten, and the loop takes both batches' partitions back
// from the database (`PartitionOwnership.writeFailed`). A revocation waits for the batch in
// writing (`settle`), so the next owner reads the offset it committed.
import Foundation
import Synchronization
import VigilKafka

/// One decided batch on its way to the database, with what the loop accounts for it.
struct PendingWrite: Sendable {
    var batch: AuditBatch
    /// The messages it was decided from (their Kafka timestamps give the end-to-end latency).
    var messages: [KafkaMessage]
    /// The partitions whose state now includes this batch, with their assignment generation.
    var leases: [(partition: KafkaTopicPartition, generation: UInt64)]
    /// When deciding started and ended.
    var started: ContinuousClock.Instant
    var decided: ContinuousClock.Instant
    /// Partitions to halt once the batch is stored (it records their offset anomaly).
    var halting: [(partition: KafkaTopicPartition, reason: String)] = []
    /// The scoring requests decided into the batch, answered when it commits (or not).
    var scoring = ScoringWork()
}

/// A pending write's fate.
struct FinishedWrite: Sendable {
    enum Outcome: Sendable {
        /// Committed at `at`; its transaction took `transaction`.
        case committed(at: ContinuousClock.Instant, wallClock: Date, transaction: Duration)
        /// An offset compare-and-set failed: another member owns a partition.
        case fenced(any Error)
        /// Not written: the batch before it failed, and it was decided from that batch's state.
        case dropped
        /// The database failed; the service stops.
        case failed(any Error)
    }

    var write: PendingWrite
    var outcome: Outcome
}

/// The bounded hand-over between the batch loop and the writer.
final class AuditHandOver: Sendable {
    private let write: @Sendable (AuditBatch) async throws -> Void
    /// Runs at commit, on the writer's side, before the loop hears of it (metrics).
    private let committed: @Sendable (PendingWrite, Duration) -> Void
    private let inFlight = Mutex<Task<FinishedWrite, Never>?>(nil)

    init(write: @escaping @Sendable (AuditBatch) async throws -> Void,
         committed: @escaping @Sendable (PendingWrite, Duration) -> Void = { _, _ in }) {
        self.write = write
        self.committed = committed
    }

    /// Waits for the batch in writing, then starts writing `pending`, unless the batch in
    /// writing failed: then `pending` is dropped. Returns the batches that finished, in order.
    func submit(_ pending: PendingWrite) async -> [FinishedWrite] {
        var finished = await drain()
        if let last = finished.last, case .committed = last.outcome {} else if !finished.isEmpty {
            finished.append(FinishedWrite(write: pending, outcome: .dropped))
            return finished
        }
        let write = self.write, committed = self.committed
        let task = Task { () -> FinishedWrite in
            let started = ContinuousClock.now
            do {
                try await write(pending.batch)
                let took = ContinuousClock.now - started
                committed(pending, took)
                return FinishedWrite(write: pending, outcome: .committed(at: .now, wallClock: Date(), transaction: took))
            } catch let error as ServiceError where error.code == .partitionFenced {
                return FinishedWrite(write: pending, outcome: .fenced(error))
            } catch {
                return FinishedWrite(write: pending, outcome: .failed(error))
            }
        }
        inFlight.withLock { $0 = task }
        return finished
    }

    /// Waits for the batch in writing and returns how it finished (nothing when none was).
    func drain() async -> [FinishedWrite] {
        guard let task = inFlight.withLock({ current -> Task<FinishedWrite, Never>? in
            defer { current = nil }
            return current
        }) else { return [] }
        return [await task.value]
    }

    /// Waits until no batch is being written, leaving its outcome for the loop (rebalances).
    func settle() async {
        _ = await inFlight.withLock({ $0 })?.value
    }
}
