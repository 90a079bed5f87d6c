// What a partition comes back with after an assignment, a crash or a fenced batch: the
// stored offset (the compare-and-set's expected value), the feature state of the newest
// snapshot and where consumption must start to rebuild the rest.
import VigilFeatures

/// The stored state of one partition, read from PostgreSQL (see `PartitionRestorer`).
public struct PartitionRestoration: Sendable {
    /// `consumer_offsets.next_offset`; nil when the group never committed this partition.
    public var committedNext: Int64?
    /// The feature state after every event with an offset below `stateThrough`.
    public var extractor: FeatureExtractor
    /// Where the state stands: the snapshot's `through_offset`, or nil when there is no
    /// snapshot and the state is fresh (rebuild from the beginning of the log).
    public var stateThrough: Int64?
    /// The stored next offset of the partition's API source (`api:<topic>`, docs/api.md): the
    /// compare-and-set of the next API decisions scored with this partition's state.
    public var apiCommittedNext: Int64?

    public init(committedNext: Int64?, extractor: FeatureExtractor, stateThrough: Int64?, apiCommittedNext: Int64? = nil) {
        self.committedNext = committedNext
        self.extractor = extractor
        self.stateThrough = stateThrough
        self.apiCommittedNext = apiCommittedNext
    }
}
