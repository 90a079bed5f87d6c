// `tools/bench models`: speed, memory and accuracy of the two VigilML models, dense vs
// sparse and Float32 vs Float16, each next to a plain sgemm loop of the same FLOPs.
import ArgumentParser
import Foundation
import VigilML

struct ModelsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Scoring throughput and latency, training-step time, memory and accuracy of the CAE and the sparse classifier."
    )

    @Option(help: "Dense features per event.")
    var features = 24

    @Option(help: "Events per scoring batch.")
    var batch = 1024

    @Option(help: "Seconds per throughput window (best of three windows is reported).")
    var seconds = 0.3

    @Option(help: "Single-event scoring calls per latency measurement.")
    var latencySamples = 20_000

    @Option(help: "Training steps per classifier variant.")
    var trainingSteps = 1500

    func run() throws {
        let d = features
        let kernels = BLAS.kernelSelection, core = kernels.core
        print("models: \(d) features, batch \(batch), one thread (OpenBLAS pinned to 1), OpenBLAS core \(core)"
              + (kernels.correction.map { " (\($0))" } ?? ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""))
        if core == "Prescott" {
            print("note: OpenBLAS runs its SSE3 kernels; OPENBLAS_CORETYPE=Haswell or SkylakeX selects the AVX kernels if the CPU has them")
        }
        // Autoencoder on a manifold task with a planted cluster.
        var caeConfig = ContrastiveAutoencoder.Configuration(inputWidth: d)
        caeConfig.encoderWidths = [32]
        caeConfig.embeddingWidth = 8
        caeConfig.decoderWidths = [32]
        caeConfig.optimizer.learningRate = 3e-3
        var cae = try ContrastiveAutoencoder(configuration: caeConfig)
        let caeTrain = SyntheticData.anomalyMixture(count: 20_480, width: d, anomalyRate: 0.005, seed: 1)
        let caeTest = SyntheticData.anomalyMixture(count: 10_000, width: d, anomalyRate: 0.02, seed: 2)
        for _ in 0..<8 {
            for start in stride(from: 0, to: 20_480, by: 256) {
                try cae.train(rows: Array(caeTrain.rows[(start * d)..<((start + 256) * d)]), count: 256)
            }
        }
        try cae.fitNormalRegion(rows: caeTrain.rows, count: 20_480)
        var caeTiming = cae  // time on a copy so the measured steps do not change the model
        let caeStep = try timeTrainingStep { try caeTiming.train(rows: Array(caeTrain.rows[0..<(256 * d)]), count: 256) }

        // Classifier task: x0·x1 > 1 or a risky bucket; CAE score and embedding as extra inputs.
        let buckets = 4096
        let rule = SyntheticData.fraudRule(count: 60_000, width: d, buckets: buckets, riskyBuckets: 40, threshold: 1, seed: 3)
        let ruleTest = SyntheticData.fraudRule(count: 20_000, width: d, buckets: buckets, riskyBuckets: 40, threshold: 1, seed: 4)
        let anomalyF32 = try cae.snapshot(precision: .float32)
        let trainRows = try anomalyF32.withAnomalyInputs(rows: rule.rows, count: 60_000)
        let testRows = try anomalyF32.withAnomalyInputs(rows: ruleTest.rows, count: 20_000)
        let testLabels = ruleTest.labels.map { $0 == 1 }
        let positiveRate = ruleTest.labels.reduce(0, +) / Float(ruleTest.labels.count)
        print(String(format: "tasks: CAE planted cluster 2%% of test; classifier rule positives %.1f%% of test", positiveRate * 100))

        // The sgemm baseline: the same layer shapes as the dense-f32 models, raw BLAS only.
        let baseline = SgemmBaseline(widths: [caeConfig.widths, [d + 1 + 8 + 8, 64, 32, 1]], batch: batch)
        let baselineMeasured = baseline.eventsPerSecond(seconds: seconds)
        let baselineRate = baselineMeasured.cpu
        print("rates below are events per CPU-second of the scoring thread (best of 3 windows), wall-clock rate in brackets")
        print("baseline: plain sgemm loop, same FLOPs as dense models (\(baseline.flopsPerEvent) FLOP/event): \(Self.show(baselineMeasured)) (\(String(format: "%.1f", baselineRate * Double(baseline.flopsPerEvent) / 1e9)) GFLOP/s)")

        let caeStepBaseline = SgemmBaseline(widths: [caeConfig.widths], batch: 512).trainingStepSeconds(rows: 512)
        let classifierStepBaseline = SgemmBaseline(widths: [[d + 1 + 8 + 8, 64, 32, 1]], batch: 256).trainingStepSeconds(rows: 256)
        print(String(format: "baseline (median CPU time): the sgemm products of one 256-row step alone: classifier %.3f ms, CAE (two views = 512 columns) %.3f ms",
                     classifierStepBaseline * 1e3, caeStepBaseline * 1e3))
        let workspace = ScoringWorkspace()
        let n = min(batch, 20_000)
        var variants: [[String: Any]] = []
        var production: Scorer?
        var productionClassifierStep = 0.0
        var denseScorer: Scorer?
        var int8Scorer: Scorer?

        // CAE alone: Float32 vs Float16 weights.
        let caeLabels = caeTest.isAnomaly
        for precision in WeightPrecision.allCases {
            let snapshot = try cae.snapshot(precision: precision)
            let scores = try snapshot.score(rows: caeTest.rows, count: 10_000)
            let ap = RankingMetrics.averagePrecision(scores: scores, labels: caeLabels)
            var out = [Float](repeating: 0, count: 10_000)
            let rate = try throughput(total: 10_000) { events, _ in
                try snapshot.score(rows: caeTest.rows, events: events, into: &out, workspace: workspace)
            }
            let latency = try latencies(total: 10_000) { j, _ in
                try snapshot.score(rows: caeTest.rows, events: j..<(j + 1), into: &out, workspace: workspace)
            }
            print(String(format: "cae %@: %@ batched, single p50 %.2f µs p99 %.2f µs, %d B weights, AUPRC %.3f (anomaly rate 0.02)",
                         precision.description, Self.show(rate), latency.p50, latency.p99, snapshot.weightBytes, ap))
            variants.append(["model": "cae", "precision": precision.description, "sparsity": 0.0, "events_per_s": rate.cpu.rounded(),
                             "events_per_wall_s": rate.wall.rounded(),
                             "p50_us": latency.p50, "p99_us": latency.p99, "weight_bytes": snapshot.weightBytes, "auprc": ap])
        }
        // INT8, activation codes calibrated on the first 2,048 training events (recent traffic).
        let calibrationCount = 2048
        let anomalyInt8 = try cae.quantizedSnapshot(calibration: Array(caeTrain.rows[0..<(calibrationCount * d)]), count: calibrationCount)
        variants.append(try measureCAE(anomalyInt8, name: "int8", test: caeTest, n: n, workspace: workspace))

        // Classifier: 0/50/70/90% sparsity × f32/f16, each trained the same way.
        for target in [0.0, 0.5, 0.7, 0.9] {
            var config = SparseClassifier.Configuration(denseWidth: d + 1 + 8)
            config.hashBuckets = buckets
            config.bagWidth = 8
            config.hiddenWidths = [64, 32]
            config.sparsity = target == 0 ? .dense : SparsitySchedule(target: target, startStep: 100, endStep: 1000, updateInterval: 50)
            var classifier = try SparseClassifier(configuration: config)
            let trainStart = Date()
            for step in 0..<trainingSteps {
                let start = (step * 256) % (60_000 - 256)
                try classifier.train(rows: Array(trainRows[(start * (d + 9))..<((start + 256) * (d + 9))]),
                                     sparse: slice(rule.sparse, start, 256), labels: Array(rule.labels[start..<(start + 256)]), count: 256)
            }
            let trainSeconds = Date().timeIntervalSince(trainStart)
            try classifier.calibrate(rows: Array(trainRows[0..<(5000 * (d + 9))]), sparse: slice(rule.sparse, 0, 5000),
                                     labels: Array(rule.labels[0..<5000]), count: 5000)
            var timing = classifier
            let step = try timeTrainingStep {
                try timing.train(rows: Array(trainRows[0..<(256 * (d + 9))]), sparse: slice(rule.sparse, 0, 256),
                                     labels: Array(rule.labels[0..<256]), count: 256)
            }
            for precision in WeightPrecision.allCases {
                let snapshot = classifier.snapshot(precision: precision)
                let p = try snapshot.score(rows: testRows, sparse: ruleTest.sparse, count: 20_000)
                let ap = RankingMetrics.averagePrecision(scores: p, labels: testLabels)
                var out = [Float](repeating: 0, count: 20_000)
                let rate = try throughput(total: 20_000, sparse: ruleTest.sparse) { events, sparse in
                    try snapshot.score(rows: testRows, sparse: sparse, events: events, into: &out, workspace: workspace)
                }
                let latency = try latencies(total: 20_000, sparse: ruleTest.sparse) { j, sparse in
                    try snapshot.score(rows: testRows, sparse: sparse, events: j..<(j + 1), into: &out, workspace: workspace)
                }
                print(String(format: "classifier %2.0f%% sparse %@: %@ batched, single p50 %.2f µs p99 %.2f µs, %d B, AUPRC %.3f, train step(256) %.3f ms (%d steps in %.1f s)",
                             classifier.sparsity * 100, precision.description, Self.show(rate), latency.p50, latency.p99,
                             snapshot.weightBytes, ap, step * 1e3, trainingSteps, trainSeconds))
                variants.append(["model": "classifier", "precision": precision.description, "sparsity": (classifier.sparsity * 100).rounded() / 100,
                                 "events_per_s": rate.cpu.rounded(), "events_per_wall_s": rate.wall.rounded(), "p50_us": latency.p50, "p99_us": latency.p99,
                                 "weight_bytes": snapshot.weightBytes, "auprc": ap, "train_step_ms": step * 1e3])
                if target == 0.7 && precision == .float16 {
                    production = try Scorer(anomaly: cae.snapshot(precision: .float16), classifier: snapshot)
                    productionClassifierStep = step
                }
                if target == 0 && precision == .float32 { denseScorer = try Scorer(anomaly: anomalyF32, classifier: snapshot) }
            }
            // INT8 of the same trained model, calibrated on the INT8 autoencoder's inputs for
            // the first 2,048 training events.
            let calibrationRows = try anomalyInt8.withAnomalyInputs(rows: Array(rule.rows[0..<(calibrationCount * d)]), count: calibrationCount)
            let int8 = try classifier.quantizedSnapshot(calibration: calibrationRows, sparse: slice(rule.sparse, 0, calibrationCount),
                                                        count: calibrationCount)
            variants.append(try measureClassifier(int8, name: "int8", sparsity: classifier.sparsity, testRows: testRows, test: ruleTest,
                                                  labels: testLabels, n: n, workspace: workspace))
            if target == 0.7 { int8Scorer = try Scorer(anomaly: anomalyInt8, classifier: int8) }
        }

        // The distilled student: [16] hidden, taught by the production classifier (70% sparse,
        // Float16) on the training events' probabilities mixed half and half with the labels.
        let studentSnapshots = try distilStudent(teacher: production!.classifier, trainRows: trainRows, rule: rule,
                                                 anomalyInt8: anomalyInt8, calibrationCount: calibrationCount)
        for (name, snapshot) in [("student-f32", studentSnapshots.f32), ("student-int8", studentSnapshots.int8)] {
            variants.append(try measureClassifier(snapshot, name: name, sparsity: 0, testRows: testRows, test: ruleTest,
                                                  labels: testLabels, n: n, workspace: workspace))
        }

        // Both models together, the way the engine calls them.
        var both: [String: Any] = [:]
        let bothLabels = ruleTest.labels.map { $0 == 1 }
        let pairs = [("dense-f32", denseScorer!), ("70%-f16", production!), ("70%-int8", int8Scorer!),
                     ("student-f32", try Scorer(anomaly: anomalyF32, classifier: studentSnapshots.f32)),
                     ("student-int8", try Scorer(anomaly: anomalyInt8, classifier: studentSnapshots.int8))]
        for (name, scorer) in pairs {
            let ap = RankingMetrics.averagePrecision(scores: try scorer.score(batch: ruleTest.rows, sparse: ruleTest.sparse, count: 20_000).map(\.fraudProbability),
                                                     labels: bothLabels)
            var results = [Score](repeating: Score(), count: 20_000)
            let rate = try throughput(total: 20_000, sparse: ruleTest.sparse) { events, sparse in
                try scorer.score(batch: ruleTest.rows, sparse: sparse, events: events, into: &results, workspace: workspace)
            }
            let latency = try latencies(total: 20_000, sparse: ruleTest.sparse) { j, sparse in
                try scorer.score(batch: ruleTest.rows, sparse: sparse, events: j..<(j + 1), into: &results, workspace: workspace)
            }
            print(String(format: "both %@: %@ batched (%.2fx the sgemm loop), single p50 %.2f µs p99 %.2f µs, %d B weights, AUPRC %.4f",
                         name, Self.show(rate), rate.cpu / baselineRate, latency.p50, latency.p99, scorer.weightBytes, ap))
            both[name] = ["events_per_s": rate.cpu.rounded(), "events_per_wall_s": rate.wall.rounded(), "p50_us": latency.p50,
                          "p99_us": latency.p99, "weight_bytes": scorer.weightBytes, "auprc": ap]
        }
        let int8Targets = int8Verdict(both: both, variants: variants)
        let studentTargets = studentVerdict(both: both)
        let headline = both["70%-f16"] as! [String: Any]
        let rate = headline["events_per_s"] as! Double, p99 = headline["p99_us"] as! Double
        print(String(format: "targets: both ≥ 2.00M/s: %@ (%@); single p99 < 20 µs: %.2f (%@); 256-row train step < 2 ms: classifier %.3f ms, CAE %.3f ms (%@)",
                     BenchReport.rate(rate), rate >= 2e6 ? "met" : "NOT met", p99, p99 < 20 ? "met" : "NOT met",
                     productionClassifierStep * 1e3, caeStep * 1e3, max(productionClassifierStep, caeStep) < 2e-3 ? "met" : "NOT met"))
        let targetsMet: [String: Bool] = [
            "both_2m_per_s": rate >= 2e6, "single_p99_under_20us": p99 < 20,
            "train_step_under_2ms": max(productionClassifierStep, caeStep) < 2e-3,
            "int8_2x_dense_f32": int8Targets.speed, "int8_auprc_99pct_of_f32": int8Targets.accuracy,
            "student_4x_dense_f32": studentTargets.speed, "student_auprc_97pct_of_f32": studentTargets.accuracy]
        var int8Report = int8Targets.figures
        int8Report["kernel"] = Int8Kernel.selected.description
        int8Report["layer_kernels_events_per_s"] = int8LayerKernels(features: d)
        try BenchReport.finish([
            "bench": "models",
            "both_events_per_s": rate,
            "both_p50_us": headline["p50_us"]!,
            "both_p99_us": p99,
            "baseline_per_s": baselineRate.rounded(),
            "baseline_per_wall_s": baselineMeasured.wall.rounded(),
            "ratio": (rate / baselineRate * 1000).rounded() / 1000,
            "train_step_256_ms": ["classifier": productionClassifierStep * 1e3, "cae": caeStep * 1e3,
                                  "classifier_sgemm_baseline": classifierStepBaseline * 1e3, "cae_sgemm_baseline": caeStepBaseline * 1e3],
            "targets_met": targetsMet,
            "int8": int8Report,
            "student": studentTargets.figures,
            "both": both,
            "variants": variants,
            "features": d,
            "openblas_core": core,
            "batch": batch,
        ])
    }

    static func show(_ rate: Rate) -> String { "\(BenchReport.rate(rate.cpu)) [\(BenchReport.rate(rate.wall)) wall]" }
}
