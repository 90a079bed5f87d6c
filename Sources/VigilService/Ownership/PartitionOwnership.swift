// Which partitions this instance owns and what it knows about each: the offset it expects
// in PostgreSQL, the feature state, and how far that state has been rebuilt. The rebalance
// handler (inside poll) and the batch loop both change it, so it is one state machine behind
// one lock; the I/O each transition calls for (reading offsets, writing snapshots, seeking)
// happens outside the lock, in the callers.
import Synchronization
import VigilFeatures
import VigilKafka

/// The partitions this instance owns, as a `StateMachine` behind a mutex.
public final class PartitionOwnership: Sendable {
    private let machine = Mutex(StateMachine())

    public init() {}

    public func assigned(_ partition: KafkaTopicPartition, _ restoration: PartitionRestoration) -> KafkaOffset {
        machine.withLock { $0.assigned(partition, restoration) }
    }
    public func checkOut(_ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition: StateMachine.Lease] {
        machine.withLock { $0.checkOut(partitions) }
    }
    public func checkIn(_ leases: [StateMachine.Lease], committed: Bool) -> [KafkaTopicPartition] {
        machine.withLock { $0.checkIn(leases, committed: committed) }
    }
    func writeFailed(_ leases: [(partition: KafkaTopicPartition, generation: UInt64)]) -> [KafkaTopicPartition] {
        machine.withLock { $0.writeFailed(leases) }
    }
    public func revoked(_ partitions: [KafkaTopicPartition]) -> [StateMachine.Lease] {
        machine.withLock { $0.revoked(partitions) }
    }
    public func lost(_ partitions: [KafkaTopicPartition]) {
        machine.withLock { $0.lost(partitions) }
    }
    public var owned: [KafkaTopicPartition] { machine.withLock { $0.owned } }
    /// Entities held by the owned partitions at rest (not those lent out), summed.
    public var stateSizes: (cards: Int, merchants: Int, terminals: Int) { machine.withLock { $0.stateSizes } }

    /// The transitions, free of I/O so they can be tested alone.
    public struct StateMachine: Sendable {
        /// A partition's working state, lent to the batch loop for one batch.
        public struct Lease: Sendable {
            public let partition: KafkaTopicPartition
            /// The stored next offset the compare-and-set expects (nil: no row yet).
            public var committedNext: Int64?
            /// Events below this offset were already decided: fold them into the state only.
            public let replayUntil: Int64
            /// The next offset the feature state has not seen (nil: nothing seen yet).
            public var position: Int64?
            public var extractor: FeatureExtractor
            /// Events folded in since the last snapshot was written.
            public var eventsSinceSnapshot = 0
            /// The stored next offset of this partition's API source (nil: no row yet).
            public var apiCommittedNext: Int64?
            /// Bumped by every assignment, so a lease from before a revocation is recognised.
            let generation: UInt64
        }

        enum PartitionState: Sendable {
            /// Owned and at rest between batches.
            case owned(Lease)
            /// Lent to the batch loop.
            case inFlight(generation: UInt64)
        }

        var partitions: [KafkaTopicPartition: PartitionState] = [:]
        var generation: UInt64 = 0

        public init() {}

        public var owned: [KafkaTopicPartition] { partitions.keys.sorted() }

        public var stateSizes: (cards: Int, merchants: Int, terminals: Int) {
            var total = (cards: 0, merchants: 0, terminals: 0)
            for case .owned(let lease) in partitions.values {
                let memory = lease.extractor.memory
                total.cards += memory.cards
                total.merchants += memory.merchants
                total.terminals += memory.terminals
            }
            return total
        }

        /// A partition arrived with its stored state: returns where Kafka must start, which is
        /// where the feature state stands (events up to the committed offset are replayed
        /// into the state without being decided again).
        public mutating func assigned(_ partition: KafkaTopicPartition, _ r: PartitionRestoration) -> KafkaOffset {
            generation += 1
            let committed = r.committedNext ?? 0
            var extractor = r.extractor
            var through = r.stateThrough
            // A snapshot is written with or after its offset, so it cannot be ahead of the
            // committed offset; if one were, its state would hold undecided events: rebuild.
            if let t = through, t > committed {
                if let fresh = try? FeatureExtractor(spec: extractor.spec, configuration: extractor.configuration) {
                    extractor = fresh
                    through = nil
                }
            }
            partitions[partition] = .owned(Lease(partition: partition, committedNext: r.committedNext, replayUntil: committed,
                                                 position: through, extractor: extractor, apiCommittedNext: r.apiCommittedNext,
                                                 generation: generation))
            return through.map { .at($0) } ?? .beginning
        }

        /// Lends the owned, idle partitions among `requested` to the batch loop. Messages of
        /// partitions not returned must be dropped (not owned, or revoked meanwhile).
        public mutating func checkOut(_ requested: [KafkaTopicPartition]) -> [KafkaTopicPartition: Lease] {
            var leases: [KafkaTopicPartition: Lease] = [:]
            for partition in requested {
                guard case .owned(let lease)? = partitions[partition] else { continue }
                partitions[partition] = .inFlight(generation: lease.generation)
                leases[partition] = lease
            }
            return leases
        }

        /// Takes leases back after their batch. With `committed == false` (rolled back, fenced)
        /// their state is ahead of what is stored, so the partitions are dropped and returned:
        /// the caller must restore them from the database and seek. Leases of partitions
        /// revoked or reassigned meanwhile are discarded.
        public mutating func checkIn(_ leases: [Lease], committed: Bool) -> [KafkaTopicPartition] {
            var needRestore: [KafkaTopicPartition] = []
            for lease in leases {
                guard case .inFlight(let generation)? = partitions[lease.partition], generation == lease.generation else { continue }
                if committed {
                    partitions[lease.partition] = .owned(lease)
                } else {
                    partitions[lease.partition] = nil
                    needRestore.append(lease.partition)
                }
            }
            return needRestore.sorted()
        }

        /// A batch handed to the writer was not committed (fenced, dropped or failed), so the
        /// state of the partitions it was decided from is ahead of what is stored: the ones
        /// still in the assignment the batch saw (same generation, lent or at rest) are dropped
        /// and returned, to be restored from the database. Reassigned ones are left alone.
        mutating func writeFailed(_ leases: [(partition: KafkaTopicPartition, generation: UInt64)]) -> [KafkaTopicPartition] {
            var needRestore: [KafkaTopicPartition] = []
            for (partition, generation) in leases {
                switch partitions[partition] {
                case .owned(let lease)? where lease.generation == generation: break
                case .inFlight(let g)? where g == generation: break
                default: continue
                }
                partitions[partition] = nil
                needRestore.append(partition)
            }
            return needRestore.sorted()
        }

        /// The partitions go to another member: returns their idle leases so the caller can
        /// snapshot their state. Rebalances happen inside poll, when the loop has checked its
        /// leases in, and the revocation waits for the batch in writing first
        /// (`AuditHandOver.settle`), so a partition is not in flight here; if one were, its
        /// late check-in is discarded.
        public mutating func revoked(_ revoked: [KafkaTopicPartition]) -> [Lease] {
            var idle: [Lease] = []
            for partition in revoked {
                if case .owned(let lease)? = partitions[partition] { idle.append(lease) }
                partitions[partition] = nil
            }
            return idle.sorted { $0.partition < $1.partition }
        }

        /// The partitions were taken away: another member may have moved on, so nothing of
        /// theirs may be written.
        public mutating func lost(_ lost: [KafkaTopicPartition]) {
            for partition in lost { partitions[partition] = nil }
        }
    }
}
