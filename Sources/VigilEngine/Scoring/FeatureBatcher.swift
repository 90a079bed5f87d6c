// The feature half of scoring a batch: events through the extractor into a ScoredBatch's
// feature rows, with nothing of the models. RiskScorer.score runs it before the models on
// one thread; a replay runs it a batch ahead on another core.
import VigilFeatures
import VigilML

/// Extracts batches of features into `ScoredBatch`es. Keeps one reusable vector per event of
/// the largest batch so far; after that, nothing is allocated per batch.
public struct FeatureBatcher: Sendable {
    private var vectors: [FeatureVector] = []
    /// Non-finite feature values replaced by 0 so far (a spec or state bug; the event is still scored).
    public private(set) var sanitizedValues = 0

    public init() {}

    /// Extracts features for `events` (updating `extractor`'s state, in order) into `batch`,
    /// which then holds `events.count` feature rows and nothing scored yet.
    public mutating func extract(_ events: ArraySlice<TransactionEvent>, extractor: inout FeatureExtractor, into batch: inout ScoredBatch) {
        let n = events.count, d = extractor.denseCount, s = extractor.sparseCount
        batch.prepare(count: n, featureWidth: d, sparseWidth: s)
        guard n > 0 else { return }
        // Batched extraction loads the cards' state slots ahead, overlapping cache misses.
        extractor.extract(batch: events, into: &vectors)
        let w = FeatureReadings.count
        for j in 0..<n {
            RowGather.copy(vectors[j].readings, 0..<w, into: &batch.readings, at: j * w)
            RowGather.copy(vectors[j].dense, 0..<d, into: &batch.features, at: j * d)
            RowGather.copy(vectors[j].sparse, 0..<s, into: &batch.sparse, at: j * s)
        }
        var sanitized = 0
        for i in 0..<(n * d) where !batch.features[i].isFinite {
            batch.features[i] = 0
            sanitized += 1
        }
        sanitizedValues += sanitized
    }
}
