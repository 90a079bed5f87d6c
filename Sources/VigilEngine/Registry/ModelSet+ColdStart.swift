// The one cold start from events, shared by serve (an empty registry) and replay (no initial
// model): the events featurised by a throwaway copy of the extractor, then the warm-up rows
// given to `ModelSet.coldStart(featureSpecHash:…)`.
import VigilFeatures

extension ModelSet {
    /// A first model set trained on `events`, featurised in order by a copy of `extractor`
    /// (the caller's extractor and its entity state are untouched, so those events are then
    /// decided normally). A non-finite feature is taken as 0: one bad reading must not poison
    /// the autoencoder's first passes.
    public static func coldStart(events: some Collection<TransactionEvent>, extractor: FeatureExtractor,
                                 architecture: ModelArchitecture = ModelArchitecture(),
                                 createdAtMillis: Int64? = nil) throws -> ModelSet {
        var warmExtractor = extractor
        var vector = warmExtractor.makeVector()
        var rows: [Float] = []
        rows.reserveCapacity(events.count * warmExtractor.denseCount)
        for event in events {
            warmExtractor.extract(event, into: &vector)
            for value in vector.dense { rows.append(value.isFinite ? value : 0) }
        }
        return try coldStart(featureSpecHash: extractor.spec.specHash, featureWidth: extractor.denseCount,
                             sparseDimension: Int(extractor.sparseDimension), architecture: architecture,
                             warmUpRows: rows, count: events.count, createdAtMillis: createdAtMillis)
    }
}
