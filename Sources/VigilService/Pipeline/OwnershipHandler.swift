// The application's side of Kafka rebalances: assigned partitions start where their stored
// feature state stands (rebuilt up to the stored offset without deciding again), revoked
// partitions leave a snapshot behind, lost partitions are dropped without writing anything.
import Synchronization
import VigilKafka

/// Connects VigilKafka's rebalance callbacks to `PartitionOwnership` and the database.
public struct OwnershipHandler: KafkaPartitionHandler {
    let ownership: PartitionOwnership
    let restorer: PartitionRestorer
    let writer: AuditWriter
    /// The batch in writing finishes before a revocation returns: the next owner must read
    /// the offset it commits.
    let handOver: AuditHandOver
    let log: ServiceLog
    /// Bumped on every rebalance, so the idle timer restarts when ownership changes.
    let rebalances: RebalanceCounter

    public func startOffsets(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset] {
        rebalances.bump()
        var starts: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in partitions {
            let restoration = try await restorer.restore(partition)
            let start = ownership.assigned(partition, restoration)
            starts[partition] = start
            log.info("partition assigned", ["partition": .string(partition.description),
                                             "stored_offset": restoration.committedNext.map { .int($0) } ?? "none",
                                             "start": .string("\(start)")])
        }
        return starts
    }

    public func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {
        rebalances.bump()
        await handOver.settle()
        let leases = ownership.revoked(partitions)
        await snapshot(leases)
        log.info("partitions revoked", ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
    }

    public func partitionsLost(_ partitions: [KafkaTopicPartition]) async {
        rebalances.bump()
        ownership.lost(partitions)
        log.warning("partitions lost; their uncommitted work is dropped",
                    ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
    }

    /// Stores the state of partitions leaving this instance, so the next owner replays less.
    /// Guarded by the stored offset: a partition already moved on is not written.
    func snapshot(_ leases: [PartitionOwnership.StateMachine.Lease]) async {
        let due = leases.compactMap { lease -> (AuditBatch.StateSnapshot, expected: Int64)? in
            guard let committed = lease.committedNext, let position = lease.position, lease.eventsSinceSnapshot > 0 else { return nil }
            return (AuditBatch.StateSnapshot(partition: lease.partition, through: position, state: lease.extractor.snapshot()), committed)
        }
        do {
            try await writer.writeSnapshots(due)
        } catch {
            // Only costs replay time for the next owner: the stored offsets are unaffected.
            log.warning("could not store snapshots of revoked partitions", ["error": .string("\(error)")])
        }
    }
}

/// Counts rebalances (read by the batch loop's idle timer).
public final class RebalanceCounter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    func bump() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Asks a running pipeline to finish its batch, commit and stop (SIGTERM, tests).
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func stop() { flag.store(true, ordering: .relaxed) }
    public var isStopped: Bool { flag.load(ordering: .relaxed) }
}
