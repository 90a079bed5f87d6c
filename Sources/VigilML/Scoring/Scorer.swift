// The published pair of models as the engine calls them: one immutable snapshot.

/// Both scores of one event.
public struct Score: Sendable, Equatable {
    /// Autoencoder anomaly score in standard-score units (≈ 0 for normal traffic).
    public var anomaly: Float
    /// Calibrated probability that the event is fraud.
    public var fraudProbability: Float
    public init(anomaly: Float = 0, fraudProbability: Float = 0) {
        self.anomaly = anomaly
        self.fraudProbability = fraudProbability
    }
}

/// An immutable autoencoder + classifier pair. A new version is a new `Scorer`; swapping
/// the reference is the whole publish. Share it freely; give each scoring thread its own
/// `ScoringWorkspace`.
///
/// When the classifier's dense width is featureWidth + 1 + embeddingWidth it receives
/// the autoencoder's score and embedding after the event's features (build its training
/// rows with `AnomalySnapshot.withAnomalyInputs`); when it equals featureWidth it does not.
public final class Scorer: Sendable {
    public let anomaly: AnomalySnapshot
    public let classifier: ClassifierSnapshot
    public let usesAnomalyInputs: Bool

    public init(anomaly: AnomalySnapshot, classifier: ClassifierSnapshot) throws {
        let d = anomaly.inputWidth
        switch classifier.denseWidth {
        case d + 1 + anomaly.embeddingWidth: usesAnomalyInputs = true
        case d: usesAnomalyInputs = false
        default:
            throw MLError(.shapeMismatch, "classifier takes \(classifier.denseWidth) dense inputs; the autoencoder gives \(d) features, score and \(anomaly.embeddingWidth)-d embedding")
        }
        self.anomaly = anomaly
        self.classifier = classifier
    }

    public var featureWidth: Int { anomaly.inputWidth }
    public var weightBytes: Int { anomaly.weightBytes + classifier.weightBytes }

    /// Scores `count` batch-major rows (count × featureWidth) into `results`.
    /// `featureErrors` (count × featureWidth), if given, receives the autoencoder's
    /// per-feature error ratios (the anomaly reasons). Allocation-free once the workspace
    /// has seen a batch this large. Throws before writing anything on bad input, and
    /// (`.nonFiniteOutput`) instead of returning a non-finite score.
    func score(batch rows: UnsafeBufferPointer<Float>, sparse: SparseBatch? = nil, count n: Int,
                      into results: UnsafeMutableBufferPointer<Score>,
                      featureErrors: UnsafeMutableBufferPointer<Float>? = nil,
                      workspace: ScoringWorkspace) throws {
        try SubnormalFlushing.run { try scoreFlushed(batch: rows, sparse: sparse, count: n, into: results, featureErrors: featureErrors, workspace: workspace) }
    }

    private func scoreFlushed(batch rows: UnsafeBufferPointer<Float>, sparse: SparseBatch? = nil, count n: Int,
                              into results: UnsafeMutableBufferPointer<Score>,
                              featureErrors: UnsafeMutableBufferPointer<Float>? = nil,
                              workspace: ScoringWorkspace) throws {
        let d = featureWidth, e = anomaly.embeddingWidth
        try InputValidation.check(rows: rows, count: n, width: d)
        if classifier.configuration.hashBuckets > 0 {
            guard let sparse else { throw MLError(.shapeMismatch, "the classifier needs sparse inputs") }
            try sparse.validate(count: n, buckets: classifier.configuration.hashBuckets)
        }
        guard results.count >= n, (featureErrors?.count ?? n * d) >= n * d else {
            throw MLError(.shapeMismatch, "output buffers too small for \(n) events")
        }
        guard n > 0 else { return }
        let x = workspace.buffer(.classifierInput, count: classifier.configuration.inputWidth * n)
        Transpose.toFeatureMajor(rows.baseAddress!, count: n, width: d, into: x)
        let anomalyScores: UnsafeMutablePointer<Float>
        let embeddings: UnsafeMutablePointer<Float>
        if usesAnomalyInputs {
            anomalyScores = x + d * n
            embeddings = x + (d + 1) * n
        } else {
            anomalyScores = workspace.buffer(.input, count: n)
            embeddings = workspace.buffer(.embedding, count: e * n)
        }
        anomaly.scoreFeatureMajor(x, n: n, scores: anomalyScores, embeddings: embeddings,
                                  featureErrors: featureErrors?.baseAddress, workspace: workspace)
        let probabilities = workspace.buffer(.reconstruction, count: n)
        classifier.scoreFeatureMajor(x, sparse: sparse, n: n, probabilities: probabilities, workspace: workspace)
        try InputValidation.checkOutputs(anomalyScores, count: n)
        try InputValidation.checkOutputs(probabilities, count: n)
        for j in 0..<n { results[j] = Score(anomaly: anomalyScores[j], fraudProbability: probabilities[j]) }
    }

    /// The same over Swift arrays: events `events` of batch-major `rows` (each featureWidth
    /// values) into `results[events]`, and with `featureErrors` their per-feature error ratios
    /// into the same rows of it (count × featureWidth from events.lowerBound × featureWidth).
    public func score(batch rows: [Float], sparse: SparseBatch? = nil, events: Range<Int>, into results: inout [Score],
                      featureErrors: inout [Float], workspace: ScoringWorkspace) throws {
        let d = featureWidth
        guard featureErrors.count >= events.upperBound * d else { throw MLError(.shapeMismatch, "arrays too small for events \(events)") }
        try withEventRows(rows, width: d, events: events, outputs: &results) { r, out in
            try featureErrors.withUnsafeMutableBufferPointer { e in
                try score(batch: r, sparse: sparse, count: events.count, into: out,
                          featureErrors: UnsafeMutableBufferPointer(rebasing: e[(events.lowerBound * d)..<(events.upperBound * d)]),
                          workspace: workspace)
            }
        }
    }

    /// The same without the per-feature errors.
    public func score(batch rows: [Float], sparse: SparseBatch? = nil, events: Range<Int>, into results: inout [Score],
                      workspace: ScoringWorkspace) throws {
        try withEventRows(rows, width: featureWidth, events: events, outputs: &results) { r, out in
            try score(batch: r, sparse: sparse, count: events.count, into: out, workspace: workspace)
        }
    }

    /// Convenience for tests and tools: allocates its output.
    public func score(batch rows: [Float], sparse: SparseBatch? = nil, count n: Int,
                      workspace: ScoringWorkspace = ScoringWorkspace()) throws -> [Score] {
        var out = [Score](repeating: Score(), count: n)
        try rows.withUnsafeBufferPointer { r in
            try out.withUnsafeMutableBufferPointer { try score(batch: r, sparse: sparse, count: n, into: $0, workspace: workspace) }
        }
        return out
    }
}

extension AnomalySnapshot {
    /// Rows of features followed by this model's score and embedding (count × (inputWidth
    /// + 1 + embeddingWidth)): the classifier's training input when it uses anomaly inputs.
    public func withAnomalyInputs(rows: [Float], count n: Int) throws -> [Float] {
        let d = inputWidth, e = embeddingWidth
        var scores = [Float](repeating: 0, count: n)
        var embeddings = [Float](repeating: 0, count: n * e)
        let workspace = ScoringWorkspace()
        try rows.withUnsafeBufferPointer { r in
            try scores.withUnsafeMutableBufferPointer { s in
                try embeddings.withUnsafeMutableBufferPointer { try score(rows: r, count: n, scores: s, embeddings: $0, workspace: workspace) }
            }
        }
        var out = [Float]()
        out.reserveCapacity(n * (d + 1 + e))
        for j in 0..<n {
            out.append(contentsOf: rows[(j * d)..<((j + 1) * d)])
            out.append(scores[j])
            out.append(contentsOf: embeddings[(j * e)..<((j + 1) * e)])
        }
        return out
    }
}
