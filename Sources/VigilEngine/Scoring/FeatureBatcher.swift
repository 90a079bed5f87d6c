// The feature half of scoring a batch: events through the extractor into a ScoredBatch's
// feature rows, with nothing of the models. RiskScorer.score runs it before the models on
// one thread; a replay runs it a batch ahead on another core.
import VigilFeatures

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
        var sanitized = 0
        let w = FeatureReadings.count
        batch.readings.withUnsafeMutableBufferPointer { readings in
            for j in 0..<n {
                vectors[j].readings.withUnsafeBufferPointer { r in
                    for k in 0..<w { readings[j * w + k] = r[k] }
                }
            }
        }
        batch.features.withUnsafeMutableBufferPointer { features in
            batch.sparse.withUnsafeMutableBufferPointer { sparse in
                for j in 0..<n {
                    vectors[j].dense.withUnsafeBufferPointer { dense in
                        for f in 0..<d {
                            let v = dense[f]
                            if v.isFinite { features[j * d + f] = v } else { features[j * d + f] = 0; sanitized += 1 }
                        }
                    }
                    vectors[j].sparse.withUnsafeBufferPointer { indices in
                        for k in 0..<s { sparse[j * s + k] = indices[k] }
                    }
                }
            }
        }
        sanitizedValues += sanitized
    }
}
