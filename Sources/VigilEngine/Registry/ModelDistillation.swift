// `vigil models compress --distil`: a smaller classifier (the student) taught by a stored
// version's classifier (the teacher) on recent traffic, for deployments that need the lowest
// latency.
import VigilML

/// The student's shape and how it is taught.
public struct DistillationOptions: Sendable, Equatable {
    /// Hidden widths of the student. Default: [16] (the standard classifier has [64, 32]).
    public var hiddenWidths: [Int] = [16]
    /// Keep the hashed categorical inputs (an embedding table). Default: true.
    public var usesSparseInputs = true
    /// Passes over the training part of the data. Default: 6.
    public var epochs = 6
    /// Weight of the label in the target where the truth is known; the teacher's probability
    /// has the rest (and all of it where the truth is not known). Default: 0.5.
    public var labelWeight: Float = 0.5

    public init() {}
}

extension ModelCompression {
    /// A new version `version` with `parent`'s autoencoder and a student classifier trained on
    /// every event before the held-back tail of `data` towards a mix of the parent's fraud
    /// probability and the truth (cross-entropy on soft targets, so the student learns the
    /// teacher's ranking of the many unlabelled or legitimate events too), then Platt-calibrated
    /// on the labelled ones. Both versions are compared on the held-back tail as for `int8`.
    /// The student then goes through the promotion guard as any challenger, against its parent
    /// on the held-back tail (`judge`): a student the guard rejects throws `.guardRejected`
    /// unless `guardSettings.override`. Its top-level guard metrics are the verdict's figures for
    /// it (as the trainer stores a promoted challenger's). It is a classifier like any other: it
    /// keeps learning online, and the trainer's guard judges its successors.
    public static func distil(_ parent: ModelSet, data: CompressionData, options: DistillationOptions = DistillationOptions(),
                              holdBack: Double = 0.25, guardSettings: CompressionGuardSettings = CompressionGuardSettings(),
                              version: Int64, createdAtMillis: Int64) throws -> ModelSet {
        let (split, usesSparse) = try check(parent, data: data, holdBack: holdBack)
        guard options.epochs > 0, options.labelWeight >= 0, options.labelWeight <= 1, options.hiddenWidths.allSatisfy({ $0 > 0 }) else {
            throw EngineError(.invalidConfiguration, "distillation needs epochs > 0, a label weight in [0, 1] and positive widths")
        }
        let training = 0..<split
        let sparse = usesSparse ? data.sparseBatch(training) : nil
        let teacher = try score(parent.scorer, rows: data.rows(training), sparse: sparse, count: split).map(\.fraudProbability)
        let targets = (0..<split).map { j -> Float in
            guard let truth = data.truth[j] else { return teacher[j] }
            return options.labelWeight * (truth ? 1 : 0) + (1 - options.labelWeight) * teacher[j]
        }
        let inputs = parent.scorer.usesAnomalyInputs
            ? try parent.scorer.anomaly.withAnomalyInputs(rows: data.rows(training), count: split) : data.rows(training)
        var architecture = parent.architecture
        architecture.classifierHiddenWidths = options.hiddenWidths
        architecture.classifierUsesSparseInputs = options.usesSparseInputs && usesSparse
        architecture.sparsity = .dense
        var configuration = architecture.classifierConfiguration(featureWidth: parent.featureWidth,
                                                                 sparseDimension: parent.classifier.configuration.hashBuckets)
        configuration.loss = .weighted(positiveWeight: 1)
        let studentSparse = architecture.classifierUsesSparseInputs ? sparse : nil
        var student: SparseClassifier
        do {
            student = try SparseClassifier(configuration: configuration)
            let batch = 256, w = configuration.denseWidth
            var order = Array(stride(from: 0, to: split - batch + 1, by: batch))
            var generator = SeededGenerator(seed: architecture.seed &+ 7)
            for _ in 0..<options.epochs {
                order.shuffle(using: &generator)
                for start in order {
                    try student.train(rows: Array(inputs[(start * w)..<((start + batch) * w)]),
                                      sparse: studentSparse.map { slice($0, start..<(start + batch)) },
                                      softTargets: Array(targets[start..<(start + batch)]), count: batch)
                }
            }
            // Platt calibration on the labelled training events (identity without both classes).
            let labelled = (0..<split).filter { data.truth[$0] != nil }
            if !labelled.isEmpty {
                let logits = try student.logits(rows: inputs, sparse: studentSparse, count: split)
                student.calibrate(logits: labelled.map { logits[$0] }, labels: labelled.map { data.truth[$0]! ? 1 : 0 })
            }
        } catch {
            throw EngineError.wrapping(error, "cannot train a student of version \(parent.version)")
        }
        let scorer = try ModelSet.freeze(autoencoder: parent.autoencoder, classifier: student, architecture: architecture)
        let heldBack = split..<data.count
        let verdict = try judge(scorer, classifierIsTrained: student.steps > 0, newClassifier: true, against: parent, data: data, range: heldBack,
                                usesSparse: usesSparse, settings: guardSettings)
        var metrics = ModelMetrics(averagePrecision: verdict.averagePrecision, logLoss: verdict.logLoss,
                                   reconstructionError: verdict.reconstructionError, windowLabels: verdict.labels, windowFrauds: verdict.frauds,
                                   labelledExamples: (0..<split).filter { data.truth[$0] != nil }.count,
                                   autoencoderSteps: parent.metrics.autoencoderSteps, classifierSteps: student.steps)
        metrics.compression = try compare(scorer, with: parent.scorer, data: data, range: heldBack, usesSparse: usesSparse,
                                          parentVersion: parent.version, calibrationEvents: split, method: "distil")
        metrics.compression!.verdict = verdict
        return try ModelSet(version: version, parent: parent.version, createdAtMillis: createdAtMillis,
                            featureSpecHash: parent.featureSpecHash, architecture: architecture,
                            autoencoder: parent.autoencoder, classifier: student, metrics: metrics, frozen: scorer)
    }
}
