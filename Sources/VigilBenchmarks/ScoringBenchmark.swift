// `tools/bench scoring`: the engine's scoring path on one core — feature extraction, both
// models batched, risk and reasons — next to a plain loop over the same events, and the
// latency of scoring one event at a time.
import ArgumentParser
import Foundation
import VigilEngine
import VigilFeatures
import VigilML

struct ScoringBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scoring",
        abstract: "RiskScorer throughput (features + both models, batched) vs a plain loop; single-event p99; the decision step with 0, 10, 50 typical rules (targets ≥ 1,000,000 events/s, < 20 µs, 50 rules ≤ 20% of the models)."
    )

    @Option(help: "Simulated events per pass.")
    var events = 200_000

    @Option(help: "Events per scoring batch.")
    var batch = 1024

    @Option(help: "Passes per figure (the best is reported: the machine is shared). Rates are per CPU-second of this thread.")
    var passes = 3

    @Option(help: "Single-event scoring calls for the latency figure.")
    var latencySamples = 20_000

    @Option(help: "Risk at or above which classifier contributions are computed as reasons (1.01 turns that path off).")
    var explainAbove: Float = RiskScorerConfiguration().explainAbove

    @Option(help: "Reasons kept per event (0 skips picking them).")
    var reasons = RiskScorerConfiguration().reasonsPerEvent

    @Option(help: "Classifier training steps before the run (520 reaches the 70% pruning target).")
    var classifierSteps = 520

    /// CPU seconds of this thread spent in `body`: on a machine shared with other builds the
    /// rate per CPU-second is the fair "one core" figure (as the features and models benchmarks do).
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = FeaturesBenchmark.threadCPUSeconds()
        try body()
        return FeaturesBenchmark.threadCPUSeconds() - start
    }

    static func wallSeconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock(), start = clock.now
        try body()
        let c = (clock.now - start).components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }

    func best(_ body: () throws -> Void) rethrows -> Double {
        var fastest = Double.infinity
        for _ in 0..<max(passes, 1) { fastest = min(fastest, try Self.seconds(body)) }
        return fastest
    }

    func run() throws {
        BLAS.configure()
        let spec = FeatureSpec.standard
        let traffic = EngineBenchmarkSupport.traffic(count: events)
        let n = traffic.events.count
        let models = try EngineBenchmarkSupport.trainedModels(spec: spec, events: traffic.events, fraud: traffic.fraud,
                                                              classifierSteps: classifierSteps)
        let registry = ModelRegistry(initial: models)
        var riskConfiguration = RiskScorerConfiguration()
        riskConfiguration.explainAbove = explainAbove
        riskConfiguration.reasonsPerEvent = reasons
        print("scoring: \(n) simulated events, standard feature spec (\(spec.dense.count) dense, \(spec.sparseNames.count) sparse), batch \(batch), classifier sparsity \(String(format: "%.0f%%", models.classifier.sparsity * 100)), best of \(passes)")

        // 1. Plain loop: touch every event's amount and id (the floor of any per-event work).
        var sink = 0.0
        let loop = best {
            for e in traffic.events { sink += e.amount + Double(e.eventID.utf8.count) }
        }
        // 2. Features only.
        let batchedFeatureTime = try best {
            var x = try FeatureExtractor(spec: spec)
            var vectors: [FeatureVector] = []
            for start in stride(from: 0, to: n, by: batch) {
                x.extract(batch: traffic.events[start..<min(start + batch, n)], into: &vectors)
                sink += Double(vectors[0].dense[0])
            }
        }
        var rows: [Float] = []
        let featureTime = try best {
            var x = try FeatureExtractor(spec: spec)
            var v = x.makeVector()
            for e in traffic.events { x.extract(e, into: &v); sink += Double(v.dense[0]) }
        }
        do {
            var x = try FeatureExtractor(spec: spec)
            rows.reserveCapacity(n * spec.dense.count)
            for e in traffic.events { rows += x.extract(e).dense }
        }
        // 3. Both models only, on extracted rows (VigilML's Scorer; sparse indices as the scorer builds them).
        var ex = try FeatureExtractor(spec: spec)
        let lists = traffic.events.map { ex.extract($0).sparse.map { Int32(bitPattern: $0) } }
        let sparseBatches = stride(from: 0, to: n - batch + 1, by: batch).map { SparseBatch(lists: Array(lists[$0..<($0 + batch)])) }
        let workspace = ScoringWorkspace()
        var out = [Score](repeating: Score(), count: batch)
        let d = spec.dense.count
        let modelTime = try modelSeconds(models.scorer, rows: rows, sparseBatches: sparseBatches, width: d)
        // The same with per-feature reconstruction errors requested (the scorer's reasons need them).
        var errors = [Float](repeating: 0, count: batch * d)
        let rowBatches = Self.batches(of: rows, count: sparseBatches.count, size: batch * d)
        let modelWithErrorsTime = try best {
            for (k, sparse) in sparseBatches.enumerated() {
                try models.scorer.score(batch: rowBatches[k], sparse: sparse, events: 0..<batch, into: &out, featureErrors: &errors,
                                        workspace: workspace)
            }
        }
        let modelEvents = sparseBatches.count * batch
        // 4. The engine: RiskScorer end to end (features, both models, risk, reasons).
        let (engineTime, risky) = try engineSeconds(models, events: traffic.events, spec: spec, risk: riskConfiguration)
        // 5. Deciding the scored batches with 0, 10 and 50 typical rules (RuleCostMeasurement).
        var scoredBatches: [(events: ArraySlice<TransactionEvent>, scored: ScoredBatch)] = []
        do {
            var x = try FeatureExtractor(spec: spec)
            let scorer = try RiskScorer(registry: registry, extractor: x, configuration: riskConfiguration)
            for start in stride(from: 0, to: n, by: batch) {
                var scored = ScoredBatch()
                let events = traffic.events[start..<min(start + batch, n)]
                try scorer.score(events, extractor: &x, into: &scored)
                scoredBatches.append((events, scored))
            }
        }
        // 4b. The same for the compressed forms, and a dense Float32 set, on the same events.
        var variants: [String: Any] = [:]
        var figures: [(String, VariantFigures)] = []
        for (name, set) in [("production", models)] + (try compressedSets(production: models, events: traffic.events, fraud: traffic.fraud, spec: spec)) {
            let engine = name == "production" ? engineTime : try engineSeconds(set, events: traffic.events, spec: spec, risk: riskConfiguration).seconds
            let model = name == "production" ? modelTime : try modelSeconds(set.scorer, rows: rows, sparseBatches: sparseBatches, width: d)
            figures.append((name, VariantFigures(engineRate: Double(n) / engine, modelRate: Double(modelEvents) / model, weightBytes: set.scorer.weightBytes,
                                                 auprc: try riskAveragePrecision(set, events: traffic.events, fraud: traffic.fraud, spec: spec, risk: riskConfiguration))))
        }
        let denseRate = figures.first { $0.0 == "dense-f32" }!.1.engineRate
        for (name, f) in figures {
            var row = f.json
            row["engine_ratio_to_dense_f32"] = (f.engineRate / denseRate * 1000).rounded() / 1000
            variants[name] = row
        }
        let ruleCounts = [0, 10, 50]
        let ruleRuns = try ruleCounts.map { try RuleCostMeasurement.decideSeconds(scoredBatches, rules: $0, passes: passes) }
        scoredBatches = []
        // 6. One event at a time.
        var latencies: [Double] = []
        latencies.reserveCapacity(latencySamples)
        do {
            var x = try FeatureExtractor(spec: spec)
            let scorer = try RiskScorer(registry: registry, extractor: x, configuration: riskConfiguration)
            var scored = ScoredBatch()
            for i in 0..<min(latencySamples, n) {
                latencies.append(try Self.wallSeconds { try scorer.score(traffic.events[i..<(i + 1)], extractor: &x, into: &scored) })
            }
            latencies.sort()
        }
        let p = EngineBenchmarkSupport.percentile, us = EngineBenchmarkSupport.micros
        let loopRate = Double(n) / loop, featureRate = Double(n) / featureTime
        let modelRate = Double(modelEvents) / modelTime, engineRate = Double(n) / engineTime
        // Features then models back to back, with nothing in between: what the engine could reach.
        let componentsRate = 1 / (1 / featureRate + 1 / modelRate)
        print("plain loop over the events: \(BenchReport.rate(loopRate)); batched feature extraction alone: \(BenchReport.rate(Double(n) / batchedFeatureTime))")
        print("features only: \(BenchReport.rate(featureRate)); both models only (batched): \(BenchReport.rate(modelRate)), with per-feature errors: \(BenchReport.rate(Double(modelEvents) / modelWithErrorsTime)); the two back to back: \(BenchReport.rate(componentsRate))")
        print("RiskScorer (features + both models + risk + reasons, batch \(batch)): \(BenchReport.rate(engineRate)) — target ≥ 1.00M/s on one core; \(risky) events at risk ≥ 0.5 explained")
        print("(rates above are events per CPU-second of the scoring thread; latencies below are wall-clock)")
        print("one event per call: p50 \(us(p(latencies, 0.5))), p99 \(us(p(latencies, 0.99))) — target p99 < 20 µs")
        // Rules' cost per event: deciding with k rules minus deciding with none, against the
        // models' time per event (both models batched, as measured above).
        let modelSecondsPerEvent = modelTime / Double(modelEvents)
        let ruleCost = ruleRuns.map { ($0.seconds - ruleRuns[0].seconds) / Double(n) }
        for (i, k) in ruleCounts.enumerated() {
            print("decide with \(k) typical rules: \(BenchReport.rate(Double(n) / ruleRuns[i].seconds)) (\(ruleRuns[i].hits) fires); rules' cost \(String(format: "%.0f", ruleCost[i] * 1e9)) ns/event = \(String(format: "%.1f%%", ruleCost[i] / modelSecondsPerEvent * 100)) of the models' \(String(format: "%.0f", modelSecondsPerEvent * 1e9)) ns/event")
        }
        print("target: 50 rules ≤ 20% of the models' time per event")
        let production = "production (\(String(format: "%.0f%%", models.classifier.sparsity * 100)) sparse, \(models.architecture.classifierPrecision) weights)"
        for (name, f) in figures {
            print(String(format: "%@: RiskScorer %@ (%.2fx dense-f32), both models alone %@, %d B weights, AUPRC of the risk %.4f on the events after the first %d",
                         name == "production" ? production : name, BenchReport.rate(f.engineRate), f.engineRate / denseRate,
                         BenchReport.rate(f.modelRate), f.weightBytes, f.auprc, Self.learntEvents))
        }
        if sink == 42 { print("") }  // keeps the loops from being optimised away
        try BenchReport.finish([
            "benchmark": "scoring",
            "events": n,
            "batch": batch,
            "events_per_s": engineRate,
            "features_per_s": featureRate,
            "models_per_s": modelRate,
            "models_with_feature_errors_per_s": Double(modelEvents) / modelWithErrorsTime,
            "plain_loop_per_s": loopRate,
            "components_per_s": componentsRate,
            "single_event_p50_us": p(latencies, 0.5) * 1e6,
            "single_event_p99_us": p(latencies, 0.99) * 1e6,
            "decide_0_rules_per_s": Double(n) / ruleRuns[0].seconds,
            "decide_10_rules_per_s": Double(n) / ruleRuns[1].seconds,
            "decide_50_rules_per_s": Double(n) / ruleRuns[2].seconds,
            "rules_10_ns_per_event": ruleCost[1] * 1e9,
            "rules_50_ns_per_event": ruleCost[2] * 1e9,
            "models_ns_per_event": modelSecondsPerEvent * 1e9,
            "rules_50_share_of_models": ruleCost[2] / modelSecondsPerEvent,
            "target_rules_50_share_of_models": 0.2,
            "target_events_per_s": 1_000_000,
            "ratio": engineRate / 1_000_000,
            "variants": variants,
        ])
    }
}
