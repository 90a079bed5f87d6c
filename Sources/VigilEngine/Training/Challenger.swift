// The learning copy of the live models. It learns label by label (and the autoencoder event
// by event), is scored on every label before it learns from it, and becomes a model set only
// when the guard publishes it.
import VigilML

struct Challenger {
    var autoencoder: ContrastiveAutoencoder
    var classifier: SparseClassifier
    /// The frozen autoencoder the classifier's inputs and the anomaly score come from: the one
    /// of the last normal-region fit, so inputs stay consistent between fits. `frozen` is its
    /// training state: what a publication carries, so the published pair scores exactly as
    /// the challenger was judged.
    private(set) var anomaly: AnomalySnapshot
    private(set) var frozen: ContrastiveAutoencoder
    let usesAnomalyInputs: Bool
    let architecture: ModelArchitecture
    /// The live version this challenger descends from.
    var basedOn: Int64

    init(live: ModelSet) {
        autoencoder = live.autoencoder
        classifier = live.classifier
        anomaly = live.scorer.anomaly
        frozen = live.autoencoder
        usesAnomalyInputs = live.scorer.usesAnomalyInputs
        architecture = live.architecture
        basedOn = live.version
    }

    var classifierIsTrained: Bool { classifier.steps > 0 }

    /// The classifier's dense input (features, then this autoencoder's score and embedding
    /// when it uses them) and the anomaly scores of `rows`.
    func inputs(_ rows: ExampleRows) throws -> (inputs: [Float], anomaly: [Float]) {
        guard rows.count > 0 else { return ([], []) }
        if usesAnomalyInputs {
            let x = try anomaly.withAnomalyInputs(rows: rows.dense, count: rows.count)
            let w = rows.featureWidth + 1 + anomaly.embeddingWidth
            return (x, (0..<rows.count).map { x[$0 * w + rows.featureWidth] })
        }
        return (rows.dense, try anomaly.score(rows: rows.dense, count: rows.count))
    }

    /// The risk the policy would see from this challenger, and the classifier's raw logits
    /// (from the Float32 master weights), for rows whose `inputs` were computed above.
    func score(_ rows: ExampleRows, inputs: (inputs: [Float], anomaly: [Float]), risk: RiskScorerConfiguration) throws -> (risks: [Float], logits: [Float]) {
        guard rows.count > 0 else { return ([], []) }
        let logits = try classifier.logits(rows: inputs.inputs, sparse: sparse(rows), count: rows.count)
        let trained = classifierIsTrained, calibration = classifier.calibration
        let risks = (0..<rows.count).map { j in
            risk.risk(Score(anomaly: inputs.anomaly[j], fraudProbability: calibration.probability(logit: logits[j])), classifierIsTrained: trained)
        }
        return (risks, logits)
    }

    /// One classifier step over labelled rows whose dense input is `inputs`.
    mutating func learn(classifierInputs inputs: [Float], rows: ExampleRows) throws {
        try classifier.train(rows: inputs, sparse: sparse(rows), labels: rows.labels, count: rows.count)
    }

    /// One autoencoder step (known labels, where given, steer its negative mining).
    mutating func learn(autoencoderRows rows: ExampleRows) throws {
        let known = rows.known.count == rows.count && rows.known.contains { $0 >= 0 } ? rows.known : nil
        try autoencoder.train(rows: rows.dense, count: rows.count, labels: known)
    }

    /// Re-learns where normal traffic lives from sampled rows and refreezes the autoencoder.
    mutating func refitNormalRegion(rows: [Float], count n: Int) throws {
        try autoencoder.fitNormalRegion(rows: rows, count: n)
        anomaly = try autoencoder.snapshot(precision: architecture.autoencoderPrecision)
        frozen = autoencoder
    }

    mutating func calibrate(logits: [Float], labels: [Float]) {
        classifier.calibrate(logits: logits, labels: labels)
    }

    private func sparse(_ rows: ExampleRows) -> SparseBatch? {
        classifier.configuration.hashBuckets > 0 ? rows.sparseBatch : nil
    }
}

extension AnomalySnapshot {
    /// Mean squared reconstruction error over batch-major rows (the per-feature error ratios
    /// times their normal means), comparable between autoencoders with different normal regions.
    func meanReconstructionError(_ rows: ExampleRows) throws -> Double {
        let d = rows.featureWidth, n = rows.count
        guard n > 0, d > 0 else { return 0 }
        var scores = [Float](repeating: 0, count: n)
        var errors = [Float](repeating: 0, count: n * d)
        var embeddings = [Float](repeating: 0, count: n * embeddingWidth)
        try score(rows: rows.dense, count: n, scores: &scores, embeddings: &embeddings, featureErrors: &errors, workspace: ScoringWorkspace())
        let fem = normalRegion.featureErrorMean
        var total = 0.0
        for j in 0..<n { for f in 0..<d { total += Double(errors[j * d + f] * fem[f]) } }
        return total / Double(n * d)
    }
}
