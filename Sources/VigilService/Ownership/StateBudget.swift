// One entity-state budget for the whole process (FeatureStateConfiguration's bounds on cards,
// merchants and terminals; the config file sets `max_cards`), shared by the partitions: each partition of the consumed topic gets an
// equal share, whichever member owns it. A member that ends up with every partition (its
// peers died) therefore holds at most the budget, and a partition's state, its evictions and
// its snapshots are the same on every member: a partition restored elsewhere after a crash or
// rebalance comes back to the values an uninterrupted run has (exactly-once scoring needs
// that). A share that moved with ownership would evict differently on different members.
// Eviction within a partition is unchanged (the least recently active fifth).
import Synchronization
import VigilFeatures

public final class StateBudget: Sendable {
    public let budget: FeatureStateConfiguration
    private let partitions = Mutex(1)

    public init(budget: FeatureStateConfiguration) {
        self.budget = budget
    }

    /// The topic's partition count (from metadata); shares are `budget / count`.
    public func topicPartitions(_ count: Int) { partitions.withLock { $0 = max(1, count) } }
    public var topicPartitionCount: Int { partitions.withLock { $0 } }

    /// One partition's bounds.
    public var share: FeatureStateConfiguration { Self.share(of: budget, partitions: topicPartitionCount) }

    static func share(of budget: FeatureStateConfiguration, partitions: Int) -> FeatureStateConfiguration {
        var share = budget
        let n = max(1, partitions)
        share.maxCards = max(1, budget.maxCards / n)
        share.maxMerchants = max(1, budget.maxMerchants / n)
        share.maxTerminals = max(1, budget.maxTerminals / n)
        share.expectedCards = budget.expectedCards / n
        return share
    }
}
