// Events in, risk out: feature extraction, both models in one batched pass over the live
// model set, the combined risk and the reasons behind it.
import VigilFeatures
import VigilML

/// Scores batches of decoded events. One per scoring thread (it owns scratch memory and is
/// not Sendable); share the `ModelRegistry` between scorers and the trainer.
///
/// Per batch: the live model set is read once, so every event of a batch is scored by one
/// version (`ScoredBatch.modelVersion`); features are extracted into the caller's batch, the
/// autoencoder and classifier run over the whole batch, and reasons are picked. After the
/// first batch of a given size nothing is allocated except for events at or above
/// `explainAbove`, whose classifier contributions are computed one by one. Deterministic:
/// the same model set, extractor state and events give the same bits.
public final class RiskScorer {
    public let configuration: RiskScorerConfiguration
    public let registry: ModelRegistry
    /// Names of the dense features, in vector order (from the feature spec).
    public let featureNames: [String]
    let specHash: UInt64
    let sparseDimension: Int
    private let workspace = ScoringWorkspace()
    private var features = FeatureBatcher()
    private var sparseBatch = SparseBatch(offsets: [0], indices: [])
    private var featureErrors: [Float] = []
    private var checkedVersion: Int64 = .min
    /// Non-finite feature values replaced by 0 so far (a spec or state bug; the event is still scored).
    public var sanitizedValues: Int { features.sanitizedValues }

    public init(registry: ModelRegistry, extractor: FeatureExtractor, configuration: RiskScorerConfiguration = RiskScorerConfiguration()) throws {
        try configuration.validate()
        self.configuration = configuration
        self.registry = registry
        featureNames = extractor.spec.denseNames
        specHash = extractor.spec.specHash
        sparseDimension = Int(extractor.sparseDimension)
        featureErrors = [Float](repeating: 0, count: configuration.batchCapacity * featureNames.count)
        try check(registry.current)
    }

    /// Throws unless `models` was trained on this scorer's feature spec and shapes.
    func check(_ models: ModelSet) throws {
        guard models.featureSpecHash == specHash else {
            throw EngineError(.featureSpecMismatch, "model set \(models.version) was trained on feature spec \(models.featureSpecHash), the extractor uses \(specHash)")
        }
        guard models.featureWidth == featureNames.count else {
            throw EngineError(.featureSpecMismatch, "model set \(models.version) takes \(models.featureWidth) features, the spec has \(featureNames.count)")
        }
        let buckets = models.classifier.configuration.hashBuckets
        guard buckets == 0 || buckets == sparseDimension else {
            throw EngineError(.featureSpecMismatch, "model set \(models.version) hashes into \(buckets) buckets, the spec into \(sparseDimension)")
        }
        checkedVersion = models.version
    }

    public func score(_ events: [TransactionEvent], extractor: inout FeatureExtractor, into batch: inout ScoredBatch) throws {
        try score(events[...], extractor: &extractor, into: &batch)
    }

    /// Extracts features for `events` (updating `extractor`'s state, in order), scores them
    /// with the live model set and writes everything into `batch`.
    public func score(_ events: ArraySlice<TransactionEvent>, extractor: inout FeatureExtractor, into batch: inout ScoredBatch) throws {
        // The full spec hash is checked at init (hashing the spec text per batch would cost
        // microseconds); per batch the shapes must match.
        guard extractor.denseCount == featureNames.count, Int(extractor.sparseDimension) == sparseDimension else {
            throw EngineError(.featureSpecMismatch, "the extractor's feature spec differs from the scorer's")
        }
        // A model set that does not fit fails the batch before the extractor's state moves.
        let models = registry.current
        if models.version != checkedVersion { try check(models) }
        features.extract(events, extractor: &extractor, into: &batch)
        try score(extracted: &batch)
    }

    /// Scores a batch whose feature rows a `FeatureBatcher` filled (with an extractor of this
    /// scorer's feature spec), with the live model set: the models' half of `score`.
    public func score(extracted batch: inout ScoredBatch) throws {
        guard batch.featureWidth == featureNames.count else {
            throw EngineError(.featureSpecMismatch, "the batch holds \(batch.featureWidth) features per event, the scorer's spec \(featureNames.count)")
        }
        let models = registry.current
        if models.version != checkedVersion { try check(models) }
        batch.modelVersion = models.version
        guard batch.count > 0 else { return }
        try scoreExtracted(count: batch.count, models: models, into: &batch)
    }

    /// Scores the first `n` feature rows already in `batch` (also used for replays of stored vectors).
    func scoreExtracted(count n: Int, models: ModelSet, into batch: inout ScoredBatch) throws {
        let d = batch.featureWidth, s = batch.sparseWidth
        let usesSparse = models.classifier.configuration.hashBuckets > 0
        // No reasons wanted (a backtest keeps only risks): the per-feature errors and the
        // classifier contributions behind reasons are not computed at all. The risks are the same.
        let wantsReasons = configuration.reasonsPerEvent > 0
        if featureErrors.count < n * d { featureErrors = [Float](repeating: 0, count: n * d) }
        var errorsOwner: [Float] = []
        swap(&errorsOwner, &featureErrors)
        defer { swap(&errorsOwner, &featureErrors) }
        var sparseOwner = SparseBatch(offsets: [], indices: [])
        swap(&sparseOwner, &sparseBatch)
        defer { swap(&sparseOwner, &sparseBatch) }
        if usesSparse {
            sparseOwner.offsets.removeAll(keepingCapacity: true)
            sparseOwner.indices.removeAll(keepingCapacity: true)
            sparseOwner.offsets.append(0)
            for j in 0..<n {
                for k in 0..<s { sparseOwner.indices.append(Int32(bitPattern: batch.sparse[j * s + k])) }
                sparseOwner.offsets.append(Int32(truncatingIfNeeded: (j + 1) * s))
            }
        }
        do {
            let sparse = usesSparse ? sparseOwner : nil
            if wantsReasons {
                try models.scorer.score(batch: batch.features, sparse: sparse, events: 0..<n, into: &batch.scores,
                                        featureErrors: &errorsOwner, workspace: workspace)
            } else {
                try models.scorer.score(batch: batch.features, sparse: sparse, events: 0..<n, into: &batch.scores, workspace: workspace)
            }
        } catch {
            throw EngineError.wrapping(error, "scoring with model set \(models.version) failed")
        }
        let trained = models.classifierIsTrained
        batch.classifierIsTrained = trained
        guard wantsReasons else {
            for j in 0..<n {
                batch.risks[j] = configuration.risk(batch.scores[j], classifierIsTrained: trained)
                if !batch.reasons[j].isEmpty { batch.reasons[j] = ReasonList() }
            }
            return
        }
        var explained = 0
        for j in 0..<n {
            let risk = configuration.risk(batch.scores[j], classifierIsTrained: trained)
            batch.risks[j] = risk
            if trained && risk >= configuration.explainAbove && explained < configuration.maxExplainedPerBatch {
                explained += 1
                try explain(event: j, models: models, errors: &errorsOwner, batch: &batch)
            } else {
                var list = ReasonList()
                appendReconstructionReasons(event: j, d: d, errors: &errorsOwner, limit: configuration.reasonsPerEvent, into: &list)
                batch.reasons[j] = list
            }
        }
    }

    /// The strongest per-feature reconstruction errors above the configured ratio. Marks the
    /// chosen entries in the scratch error buffer (it is not needed afterwards).
    private func appendReconstructionReasons(event j: Int, d: Int, errors: inout [Float], limit: Int,
                                             into list: inout ReasonList) {
        let base = j * d
        let minimum = configuration.minimumReconstructionRatio
        while list.count < limit {
            var best = -1
            var bestValue = minimum
            for f in 0..<d where errors[base + f] > bestValue {
                best = f
                bestValue = errors[base + f]
            }
            guard best >= 0 else { return }
            errors[base + best] = -1
            list.append(RiskReason(kind: .reconstruction, name: featureNames[best], weight: bestValue))
        }
    }

    /// Reasons for a likely review: the classifier's strongest positive contributions (up to
    /// two), then reconstruction errors, then more contributions while there is room.
    private func explain(event j: Int, models: ModelSet, errors: inout [Float], batch: inout ScoredBatch) throws {
        let d = batch.featureWidth
        var row = Array(batch.featureRow(j))
        let anomalyNames = models.scorer.usesAnomalyInputs
        if anomalyNames {
            var score: [Float] = [0]
            var embedding = [Float](repeating: 0, count: models.scorer.anomaly.embeddingWidth)
            var noErrors: [Float] = []
            try models.scorer.anomaly.score(rows: row, count: 1, scores: &score, embeddings: &embedding, featureErrors: &noErrors, workspace: workspace)
            row.append(score[0])
            row.append(contentsOf: embedding)
        }
        let sparse = models.classifier.configuration.hashBuckets > 0 ? batch.sparseRow(j).map { Int32(bitPattern: $0) } : []
        let contributions: [Float]
        do { contributions = try models.scorer.classifier.contributions(row: row, sparseIndices: sparse, workspace: workspace) } catch {
            throw EngineError.wrapping(error, "explaining event \(j)")
        }
        var named: [(String, Float)] = (0..<d).map { (featureNames[$0], contributions[$0]) }
        if anomalyNames {
            named.append(("cae.anomaly_score", contributions[d]))
            named.append(("cae.embedding", contributions[(d + 1)...].reduce(0, +)))
        }
        let positive = named.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        let limit = configuration.reasonsPerEvent
        var list = ReasonList()
        for (name, w) in positive.prefix(min(2, limit)) { list.append(RiskReason(kind: .classifier, name: name, weight: w)) }
        appendReconstructionReasons(event: j, d: d, errors: &errors, limit: limit, into: &list)
        for (name, w) in positive.dropFirst(min(2, limit)) where list.count < limit {
            list.append(RiskReason(kind: .classifier, name: name, weight: w))
        }
        batch.reasons[j] = list
    }
}
