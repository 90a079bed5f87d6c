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
        let s = quoteIdentifier(schema), group = groupID
        let apiTopic = ScoringSource.topic(of: partition.topic)
        let (committed, snapshot, apiCommitted) = try await connection.withSession { session -> (Int64?, (Int64, [UInt8])?, Int64?) in
            let key: [PostgresValue] = [.text(group), .text(partition.topic), .int32(partition.partition)]
            let offsetRows = try session.query(
                "SELECT topic, next_offset FROM \(s).consumer_offsets WHERE group_id = $1 AND topic IN ($2, $4) AND kafka_partition = $3",
                key + [.text(apiTopic)])
            var committed: Int64?, apiCommitted: Int64?
            for row in offsetRows {
                if try row.decode(0, as: String.self) == apiTopic { apiCommitted = try row.decode(1) } else { committed = try row.decode(1) }
            }
            guard let committed else { return (nil, nil, apiCommitted) }
            let snapshotRows = try session.query("""
                SELECT through_offset, state FROM \(s).entity_snapshots
                WHERE group_id = $1 AND topic = $2 AND kafka_partition = $3 AND through_offset <= $4 AND format_version = $5
                ORDER BY through_offset DESC LIMIT 1
                """, key + [.int64(committed), .int32(Int32(FeatureExtractor.snapshotVersion))])
            let snapshot = try snapshotRows.first.map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: [UInt8].self)) }
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
