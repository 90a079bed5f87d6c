// The replay's feature half on its own, for yardsticks: the same extractor, label schedule
// and batches a replay runs, so a baseline model scores exactly the features Vigil's models
// see and learns from exactly the labels they learn from, at the same moments.
import VigilEngine
import VigilFeatures

/// One batch of the stream: its events' dense feature rows, then the labels that become
/// visible once it has been scored.
public struct ReplayFeatureBatch: Sendable {
    /// Input indices of the batch's events.
    public let range: Range<Int>
    /// Dense feature rows, row-major, `featureWidth` values per event.
    public let features: [Float]
    public let featureWidth: Int
    /// Hashed sparse indices, row-major, `sparseWidth` per event (the classifier's bag).
    public let sparse: [UInt32]
    public let sparseWidth: Int
    /// Released after this batch, in release order: the input index of the labelled event
    /// (always inside this or an earlier batch) and whether it is fraud.
    public let labels: [(event: Int, isFraud: Bool)]
}

public enum ReplayFeatureStream {
    /// Calls `body` with every batch of `input` in order, as `ReplayRunner.run` with the same
    /// configuration extracts them (feature spec, batch size, label delay).
    public static func forEach(_ input: ReplayInput, configuration c: ReplayConfiguration,
                               _ body: (ReplayFeatureBatch) throws -> Void) throws {
        try c.validate()
        guard !input.events.isEmpty else { throw ReplayError(.malformedInput, "the input holds no events") }
        let extractor: FeatureExtractor
        do { extractor = try FeatureExtractor(spec: c.featureSpec) } catch {
            throw ReplayError(.invalidConfiguration, "feature spec", underlying: error)
        }
        let schedule = try LabelSchedule(input: input, delay: c.labelDelay)
        let stage = FeatureStage(events: input.events, batchSize: c.batchSize, extractor: extractor, schedule: schedule)
        defer { _ = stage.finish() }
        while let item = stage.next() {
            let rows = item.batch.count * item.batch.featureWidth
            let labels = zip(item.labelledEvents, item.labels).map { (event: $0, isFraud: $1.isFraud) }
            let sparseCount = item.batch.count * item.batch.sparseWidth
            let batch = ReplayFeatureBatch(range: item.range, features: Array(item.batch.features[0..<rows]),
                                           featureWidth: item.batch.featureWidth, sparse: Array(item.batch.sparse[0..<sparseCount]),
                                           sparseWidth: item.batch.sparseWidth, labels: labels)
            stage.recycle(item.batch)
            try body(batch)
        }
    }
}
