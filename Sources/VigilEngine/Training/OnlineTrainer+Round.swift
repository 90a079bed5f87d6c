// One training round: sample, train a copy of the live models, measure both, promote or not.
import Foundation
import VigilML

extension OnlineTrainer {
    struct HeldOut {
        var trafficTrain: ExampleRows
        var traffic: ExampleRows
        var labelledTrain: ExampleRows
        var labelled: ExampleRows
    }

    /// Splits what is remembered: a random sample of recent traffic (4/5 to train, 1/5 held
    /// out) and the labelled examples (the newest `holdoutFraction` held out).
    func heldOut(generator g: inout SeededGenerator) -> HeldOut {
        let n = configuration.autoencoderSample
        let sample = recent.withLock { $0.count >= configuration.minimumTraffic ? $0.sample(n, generator: &g) : nil }
        let traffic = sample ?? ExampleRows(featureWidth: 0, sparseWidth: 0)
        let cut = traffic.count * 4 / 5
        let all = labelled.withLock { $0.all() }
        let hold = Int(Double(all.count) * configuration.holdoutFraction)
        return HeldOut(trafficTrain: traffic.slice(0..<cut), traffic: traffic.slice(cut..<traffic.count),
                       labelledTrain: all.slice(0..<(all.count - hold)), labelled: all.slice((all.count - hold)..<all.count))
    }

    /// Trains and judges a candidate from a snapshot; touches neither the registry nor the
    /// trainer's memory, so it may run on any thread while scoring goes on.
    func train(_ prepared: PreparedRound) throws -> TrainedRound {
        let live = prepared.live, number = prepared.number, data = prepared.data
        var g = prepared.generator
        func skipped(_ reason: String) -> TrainedRound {
            TrainedRound(round: TrainingRound(number: number, liveVersion: live.version, outcome: .skipped(reason: reason),
                                              labelledExamples: data.labelledTrain.count, classifierTrained: false, seconds: 0))
        }
        guard data.trafficTrain.count >= 2 else { return skipped("fewer than \(configuration.minimumTraffic) recent events") }

        // The autoencoder keeps learning on recent traffic (known labels refine its negative
        // mining), then re-learns where normal lives.
        var autoencoder = live.autoencoder
        let d = data.trafficTrain.featureWidth, b = min(configuration.batchSize, data.trafficTrain.count)
        for step in 0..<configuration.autoencoderSteps {
            let start = (step * b) % (data.trafficTrain.count - b + 1)
            let known = Array(data.trafficTrain.known[start..<(start + b)])
            try autoencoder.train(rows: Array(data.trafficTrain.dense[(start * d)..<((start + b) * d)]), count: b,
                                  labels: known.contains { $0 >= 0 } ? known : nil)
        }
        try autoencoder.fitNormalRegion(rows: data.trafficTrain.dense, count: data.trafficTrain.count)
        let anomaly = try autoencoder.snapshot(precision: live.architecture.autoencoderPrecision)

        // The classifier learns from labels once there are enough of both kinds.
        var classifier = live.classifier
        let calibrationCount = Int(Double(data.labelledTrain.count) * configuration.calibrationFraction)
        let fit = data.labelledTrain.slice(0..<(data.labelledTrain.count - calibrationCount))
        let trainsClassifier = configuration.trainsClassifier && data.labelledTrain.count >= configuration.minimumLabels && fit.fraudCount > 0 && fit.fraudCount < fit.count
        if trainsClassifier {
            let inputs = try classifierInputs(fit, anomaly: anomaly, uses: live.scorer.usesAnomalyInputs)
            let width = classifier.configuration.denseWidth
            for _ in 0..<configuration.classifierEpochs {
                var order = Array(0..<fit.count)
                order.shuffle(using: &g)
                for start in stride(from: 0, to: fit.count - 1, by: configuration.batchSize) {
                    let picked = order[start..<min(start + configuration.batchSize, fit.count)]
                    let batch = fit.pick(picked, dense: false)
                    try classifier.train(rows: RowGather.gather(inputs, width: width, rows: picked),
                                         sparse: classifier.configuration.hashBuckets > 0 ? batch.sparseBatch : nil,
                                         labels: batch.labels, count: batch.count)
                }
            }
            let calibration = data.labelledTrain.slice((data.labelledTrain.count - calibrationCount)..<data.labelledTrain.count)
            if calibration.fraudCount > 0, calibration.fraudCount < calibration.count {
                try classifier.calibrate(rows: classifierInputs(calibration, anomaly: anomaly, uses: live.scorer.usesAnomalyInputs),
                                         sparse: classifier.configuration.hashBuckets > 0 ? calibration.sparseBatch : nil,
                                         labels: calibration.labels, count: calibration.count)
            }
        }

        // Judge both on the same held-out window, with the risk the policy will see.
        let candidateScorer = try Scorer(anomaly: anomaly, classifier: classifier.snapshot(precision: live.architecture.classifierPrecision))
        let liveMetrics = try guardrail.measure(live.scorer, classifierIsTrained: live.classifierIsTrained,
                                                traffic: data.traffic, labelled: data.labelled)
        var candidateMetrics = try guardrail.measure(candidateScorer, classifierIsTrained: classifier.steps > 0,
                                                     traffic: data.traffic, labelled: data.labelled)
        candidateMetrics.labelledExamples = trainsClassifier ? data.labelledTrain.count : live.metrics.labelledExamples
        candidateMetrics.autoencoderSteps = autoencoder.steps
        candidateMetrics.classifierSteps = classifier.steps
        let verdict = guardrail.judge(live: liveMetrics, candidate: candidateMetrics)
        let round = TrainingRound(number: number, liveVersion: live.version, outcome: .rejected, verdict: verdict,
                                  labelledExamples: data.labelledTrain.count, classifierTrained: trainsClassifier, seconds: 0)
        guard verdict.promote else { return TrainedRound(round: round) }
        let finalAutoencoder = autoencoder, finalClassifier = classifier, finalMetrics = candidateMetrics
        return TrainedRound(round: round, build: { version, createdAtMillis in
            try ModelSet(version: version, parent: live.version, createdAtMillis: createdAtMillis,
                         featureSpecHash: live.featureSpecHash, architecture: live.architecture,
                         autoencoder: finalAutoencoder, classifier: finalClassifier, metrics: finalMetrics,
                         frozen: candidateScorer)
        })
    }

    /// Builds the candidate of a promotable round (through `persist` when set, which
    /// allocates its version) and swaps it in if the model it was trained on is still live.
    func promote(_ trained: TrainedRound) throws -> TrainingRound {
        var round = trained.round
        guard let make = trained.build else { return round }
        let build = { (version: Int64) throws -> ModelSet in try make(version, Self.nowMillis()) }
        let candidate = try trained.built ?? persist.map { try $0(build) } ?? build(registry.nextVersion())
        do {
            try registry.publish(candidate, replacing: round.liveVersion)
            round.outcome = .promoted(version: candidate.version)
        } catch let error as EngineError where error.code == .versionConflict {
            round.outcome = .stale
        }
        return round
    }

    /// The classifier's dense input: features, then the autoencoder's score and embedding when it uses them.
    private func classifierInputs(_ rows: ExampleRows, anomaly: AnomalySnapshot, uses: Bool) throws -> [Float] {
        uses ? try anomaly.withAnomalyInputs(rows: rows.dense, count: rows.count) : rows.dense
    }
}
