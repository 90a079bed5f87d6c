// The caller-owned output of scoring one batch, reused batch after batch so the hot path
// writes into memory that already exists.
import VigilFeatures
import VigilML

/// Per-event results of one scored batch, plus the feature vectors that were scored (the
/// trainer joins labels to exactly these). Create one per scoring loop and pass it to every
/// `RiskScorer.score` call: its arrays only grow, never shrink.
public struct ScoredBatch: Sendable {
    /// Events in the batch; entries past `count` are stale.
    public internal(set) var count = 0
    /// The model version that scored every event of this batch.
    public internal(set) var modelVersion: Int64 = 0
    /// Whether the model set's classifier has learnt from labels. Until it has, its
    /// probability is noise: the risk ignores it, and rules read `fraud_probability` as null.
    public internal(set) var classifierIsTrained = false
    public internal(set) var featureWidth: Int
    public internal(set) var sparseWidth: Int
    /// Dense features, batch-major (count × featureWidth).
    public internal(set) var features: [Float] = []
    /// Hashed sparse indices, batch-major (count × sparseWidth), in the spec's sparse space.
    public internal(set) var sparse: [UInt32] = []
    /// Raw computed values for rules, batch-major (count × `FeatureReadings.count`, NaN: null).
    public internal(set) var readings: [Float] = []
    public internal(set) var scores: [Score] = []
    /// Combined risk in [0, 1].
    public internal(set) var risks: [Float] = []
    public internal(set) var reasons: [ReasonList] = []

    public init(featureWidth: Int = 0, sparseWidth: Int = 0, capacity: Int = 0) {
        self.featureWidth = featureWidth
        self.sparseWidth = sparseWidth
        reserve(capacity)
    }

    /// Makes room for `n` events of the given widths; allocates only when growing.
    mutating func prepare(count n: Int, featureWidth d: Int, sparseWidth s: Int) {
        if d != featureWidth || s != sparseWidth {
            featureWidth = d
            sparseWidth = s
            features = []
            sparse = []
        }
        reserve(n)
        count = n
    }

    private mutating func reserve(_ n: Int) {
        if features.count < n * featureWidth { features = [Float](repeating: 0, count: n * featureWidth) }
        if sparse.count < n * sparseWidth { sparse = [UInt32](repeating: 0, count: n * sparseWidth) }
        if readings.count < n * FeatureReadings.count { readings = [Float](repeating: .nan, count: n * FeatureReadings.count) }
        if scores.count < n {
            scores = [Score](repeating: Score(), count: n)
            risks = [Float](repeating: 0, count: n)
            reasons = [ReasonList](repeating: ReasonList(), count: n)
        }
    }

    /// The dense features of event `i`.
    public func featureRow(_ i: Int) -> ArraySlice<Float> {
        features[(i * featureWidth)..<((i + 1) * featureWidth)]
    }

    /// The rule readings of event `i` (see `FeatureReadings`).
    public func readingsRow(_ i: Int) -> ArraySlice<Float> {
        readings[(i * FeatureReadings.count)..<((i + 1) * FeatureReadings.count)]
    }

    /// The sparse indices of event `i`.
    public func sparseRow(_ i: Int) -> ArraySlice<UInt32> {
        sparse[(i * sparseWidth)..<((i + 1) * sparseWidth)]
    }
}
