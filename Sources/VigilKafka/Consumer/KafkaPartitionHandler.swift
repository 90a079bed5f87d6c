// What the application decides during a rebalance.

/// The application's side of a rebalance. The consumer calls these from its own
/// thread while librdkafka waits inside the rebalance callback, so the group does
/// not move on until they return. They must not call `seek`, `pause`, `resume`,
/// `assign` or `poll` on the same consumer (those run on the thread that is waiting
/// here; the consumer throws `.invalidState` instead of deadlocking). `commit` is fine.
public protocol KafkaPartitionHandler: Sendable {
    /// Partitions were assigned: where should each start? Partitions missing from the
    /// result start at `.stored`. Throwing leaves the partitions unassigned and makes the
    /// next `poll` throw `.partitionHandlerFailed`.
    func startOffsets(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset]
    /// The partitions are about to go to another member: finish the batch in flight and
    /// commit it before returning. Messages of these partitions fetched but not yet
    /// returned by `poll` are dropped.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async
    /// The partitions were already taken away (session timeout, fencing): another member
    /// may own them now, so a commit for them must fail (compare-and-set on the offset).
    func partitionsLost(_ partitions: [KafkaTopicPartition]) async
}

/// A partition handler from closures, for tests and small tools.
public struct KafkaPartitionCallbacks: KafkaPartitionHandler {
    public var assigned: @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset]
    public var revoked: @Sendable ([KafkaTopicPartition]) async -> Void
    public var lost: @Sendable ([KafkaTopicPartition]) async -> Void

    public init(assigned: @escaping @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset],
                revoked: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in },
                lost: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in }) {
        self.assigned = assigned
        self.revoked = revoked
        self.lost = lost
    }

    public func startOffsets(for partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset] {
        try await assigned(partitions)
    }
    public func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async { await revoked(partitions) }
    public func partitionsLost(_ partitions: [KafkaTopicPartition]) async { await lost(partitions) }
}
