// Reads what a partition needs to resume from PostgreSQL: the group's stored offset and
// the newest feature-state snapshot at or below it.
import VigilFeatures
import VigilKafka
import VigilPostgres

public struct PartitionRestorer: Sendable {
    public let connection: PostgresConnection
    public let schema: String
    public let groupID: String
    public let spec: FeatureSpec
    public let stateConfiguration: FeatureStateConfiguration
    public let log: ServiceLog
    /// Topics whose partitions carry no feature state (labels): they resume at the stored offset.
    public let statelessTopics: Set<String>
    /// The process-wide entity budget; each restored partition gets its share (nil: every
    /// partition gets `stateConfiguration` whole).
    public let budget: StateBudget?

    public init(connection: PostgresConnection, schema: String, groupID: String, spec: FeatureSpec,
                stateConfiguration: FeatureStateConfiguration, log: ServiceLog, statelessTopics: Set<String> = [],
                budget: StateBudget? = nil) {
        self.statelessTopics = statelessTopics
        self.budget = budget
        self.connection = connection
        self.schema = schema
        self.groupID = groupID
        self.spec = spec
        self.stateConfiguration = stateConfiguration
        self.log = log
    }

    public func restore(_ partition: KafkaTopicPartition) async throws -> PartitionRestoration {
        let statements = VigilSchema(schema), group = groupID
        let apiPartition = KafkaTopicPartition(topic: ScoringSource.topic(of: partition.topic), partition: partition.partition)
        let (committed, snapshot, apiCommitted) = try await connection.withSession { session -> (Int64?, (Int64, [UInt8])?, Int64?) in
            let stored = try statements.storedOffsets(group: group, topics: [partition.topic, apiPartition.topic],
                                                      partition: partition.partition, on: session)
            let apiCommitted = stored[apiPartition]
            guard let committed = stored[partition] else { return (nil, nil, apiCommitted) }
            let snapshot = try statements.latestSnapshot(group: group, partition: partition, through: committed, on: session)
            return (committed, snapshot, apiCommitted)
        }
        if statelessTopics.contains(partition.topic) {
            // No state to rebuild: the (unused) extractor stays minimal.
            let extractor = try FeatureExtractor(spec: spec, configuration: FeatureStateConfiguration(maxCards: 16, maxMerchants: 16, maxTerminals: 16, recentEvents: 16))
            return PartitionRestoration(committedNext: committed, extractor: extractor, stateThrough: committed, apiCommittedNext: apiCommitted)
        }
        var extractor = try FeatureExtractor(spec: spec, configuration: budget?.share ?? stateConfiguration)
        var through: Int64?
        if let (offset, bytes) = snapshot {
            do {
                try extractor.restore(from: bytes)
                through = offset
            } catch {
                // A corrupt or foreign snapshot: rebuilding from the log gives the same state.
                log.warning("snapshot unusable, rebuilding the partition's state from the log",
                            ["partition": .string(partition.description), "error": .string("\(error)")])
            }
        }
        return PartitionRestoration(committedNext: committed, extractor: extractor, stateThrough: through, apiCommittedNext: apiCommitted)
    }
}
