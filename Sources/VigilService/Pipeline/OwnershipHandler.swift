// The application's side of Kafka rebalances: assigned partitions start where their stored
// feature state stands (rebuilt up to the stored offset without deciding again), revoked
// partitions leave a snapshot behind, lost partitions are dropped without writing anything.
import Synchronization
import VigilKafka

/// Connects VigilKafka's rebalance callbacks to `PartitionOwnership`, `OffsetContinuity` and
/// the database.
struct OwnershipHandler: KafkaPartitionHandler {
    let runtime: @Sendable () -> PipelineRuntime?

    func startOffsets(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset] {
        guard let r = runtime() else { throw ServiceError(.invalidConfiguration, "assignment before the pipeline was built") }
        r.rebalances.bump()
        await r.refreshBudget(seeing: partitions)
        var starts: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in partitions {
            // A database outage during a rebalance is waited out here (the group does not move
            // on without this member's answer, and librdkafka does not count the time against
            // max.poll.interval.ms while the callback runs).
            let restoration = try await r.retryingDatabase("restore \(partition)") { try await r.restorer.restore(partition) }
            let start = r.ownership.assigned(partition, restoration)
            r.continuity.assigned(partition, committedNext: restoration.committedNext)
            starts[partition] = start
            r.log.info("partition assigned", ["partition": .string(partition.description),
                                               "stored_offset": restoration.committedNext.map { .int($0) } ?? "none",
                                               "start": .string("\(start)")])
        }
        r.telemetry.partitionsHalted(r.continuity.halted)
        return starts
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {
        guard let r = runtime() else { return }
        r.rebalances.bump()
        // The batch in writing finishes first: the next owner must read the offset it commits.
        await r.handOver.settle()
        let leases = r.ownership.revoked(partitions)
        r.continuity.removed(partitions)
        r.telemetry.partitionsHalted(r.continuity.halted)
        await snapshot(leases, r)
        r.log.info("partitions revoked", ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
    }

    func partitionsLost(_ partitions: [KafkaTopicPartition]) async {
        guard let r = runtime() else { return }
        r.rebalances.bump()
        r.ownership.lost(partitions)
        r.continuity.removed(partitions)
        r.telemetry.partitionsHalted(r.continuity.halted)
        r.log.warning("partitions lost; their uncommitted work is dropped",
                      ["partitions": .string(partitions.map(\.description).joined(separator: ","))])
    }

    /// Stores the state of partitions leaving this instance, so the next owner replays less.
    /// Guarded by the stored offset: a partition already moved on is not written.
    func snapshot(_ leases: [PartitionOwnership.StateMachine.Lease], _ r: PipelineRuntime) async {
        let due = leases.compactMap { lease -> (AuditBatch.StateSnapshot, expected: Int64)? in
            guard let committed = lease.committedNext, let position = lease.position, lease.eventsSinceSnapshot > 0 else { return nil }
            return (AuditBatch.StateSnapshot(partition: lease.partition, through: position, state: lease.extractor.snapshot()), committed)
        }
        do {
            try await r.writer.writeSnapshots(due)
        } catch {
            // Only costs replay time for the next owner: the stored offsets are unaffected.
            r.log.warning("could not store snapshots of revoked partitions", ["error": .string("\(error)")])
        }
    }
}

extension PipelineRuntime {
    /// A partition of the transactions topic beyond the known count means the topic grew:
    /// the budget's shares are recomputed from fresh metadata.
    func refreshBudget(seeing partitions: [KafkaTopicPartition]) async {
        let topic = configuration.topic
        guard partitions.contains(where: { $0.topic == topic && Int($0.partition) >= budget.topicPartitionCount }) else { return }
        if let ids = try? await consumer.partitions(of: topic, timeout: .seconds(5)) {
            budget.topicPartitions(ids.count)
            log.info("entity-state budget shared by the topic's partitions", ["partitions": .int(Int64(ids.count)),
                                                                              "cards_per_partition": .int(Int64(budget.share.maxCards))])
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
