// `tools/bench scoring`'s rows for the compressed forms (`vigil models compress`): the
// production set next to a dense Float32 set, its INT8 form and a distilled student (Float32
// and INT8), each scored end to end through RiskScorer (features included) on the same events
// in the same run.
import Foundation
import VigilEngine
import VigilFeatures
import VigilML

extension ScoringBenchmark {
    /// One model set's figures: RiskScorer end to end, both models alone, weight bytes, and
    /// the average precision of the risk on the events after the ones the models learnt from.
    struct VariantFigures {
        var engineRate: Double
        var modelRate: Double
        var weightBytes: Int
        var auprc: Double

        var json: [String: Any] {
            ["events_per_s": engineRate.rounded(), "models_per_s": modelRate.rounded(), "weight_bytes": weightBytes, "auprc": auprc]
        }
    }

    /// Events the benchmark's models learnt from (`EngineBenchmarkSupport.trainedModels`); the
    /// accuracy figures are taken on the events after them.
    static let learntEvents = 40_000

    /// CPU seconds of the best pass of both models over the extracted rows, batch by batch.
    func modelSeconds(_ scorer: Scorer, rows: [Float], sparseBatches: [SparseBatch], width d: Int) throws -> Double {
        let workspace = ScoringWorkspace()
        var out = [Score](repeating: Score(), count: sparseBatches.count * batch)
        return try best {
            for (k, sparse) in sparseBatches.enumerated() {
                try scorer.score(batch: rows, sparse: sparse, events: (k * batch)..<((k + 1) * batch), into: &out, workspace: workspace)
            }
        }
    }

    /// The first `count` consecutive `size`-value slices of `rows`, each its own array (made
    /// before any clock starts, so the timed loops hand the scorer whole arrays as serve does).
    static func batches(of rows: [Float], count: Int, size: Int) -> [[Float]] {
        (0..<count).map { Array(rows[($0 * size)..<(($0 + 1) * size)]) }
    }

    /// CPU seconds of the best RiskScorer pass over every event (features, both models, risk,
    /// reasons), and the events at risk ≥ 0.5 in it.
    func engineSeconds(_ models: ModelSet, events: [TransactionEvent], spec: FeatureSpec,
                       risk: RiskScorerConfiguration) throws -> (seconds: Double, risky: Int) {
        let registry = ModelRegistry(initial: models)
        let n = events.count
        var risky = 0
        let seconds = try best {
            var x = try FeatureExtractor(spec: spec)
            let scorer = try RiskScorer(registry: registry, extractor: x, configuration: risk)
            var scored = ScoredBatch()
            risky = 0
            for start in stride(from: 0, to: n, by: batch) {
                try scorer.score(events[start..<min(start + batch, n)], extractor: &x, into: &scored)
                for i in 0..<scored.count where scored.risks[i] >= 0.5 { risky += 1 }
            }
        }
        return (seconds, risky)
    }

    /// Average precision of RiskScorer's risk on the events after the first `learntEvents`
    /// (extraction runs over all of them, so entity state is as in the timed passes).
    func riskAveragePrecision(_ models: ModelSet, events: [TransactionEvent], fraud: [Bool], spec: FeatureSpec,
                              risk: RiskScorerConfiguration) throws -> Double {
        var x = try FeatureExtractor(spec: spec)
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: x, configuration: risk)
        var scored = ScoredBatch()
        var risks: [Float] = []
        risks.reserveCapacity(events.count)
        for start in stride(from: 0, to: events.count, by: batch) {
            try scorer.score(events[start..<min(start + batch, events.count)], extractor: &x, into: &scored)
            risks += scored.risks[0..<scored.count]
        }
        let from = min(Self.learntEvents, events.count)
        return RankingMetrics.averagePrecision(scores: Array(risks[from...]), labels: Array(fraud[from..<events.count]))
    }

    /// The compressed sets measured beside the production one: a dense Float32 set trained the
    /// same way, the production set's INT8 form and a student distilled from it (Float32, and
    /// its own INT8 form), made as `vigil models compress` makes them from the first
    /// `learntEvents` events (the guard's verdicts are printed, not enforced: these rows are
    /// about speed and accuracy).
    func compressedSets(production: ModelSet, events: [TransactionEvent], fraud: [Bool], spec: FeatureSpec) throws -> [(String, ModelSet)] {
        var dense = ModelArchitecture()
        dense.sparsity = .dense
        dense.classifierPrecision = .float32
        let denseF32 = try EngineBenchmarkSupport.trainedModels(spec: spec, events: events, fraud: fraud,
                                                                classifierSteps: classifierSteps, architecture: dense)
        var extractor = try FeatureExtractor(spec: spec)
        var data = CompressionData(featureWidth: extractor.denseCount, sparseWidth: extractor.sparseCount)
        for (e, isFraud) in zip(events.prefix(Self.learntEvents), fraud) {
            let v = extractor.extract(e)
            data.append(features: v.dense[...], sparse: v.sparse[...], truth: [isFraud])
        }
        var settings = CompressionGuardSettings()
        settings.override = true
        let created = production.createdAtMillis
        let int8 = try ModelCompression.int8(production, data: data, guardSettings: settings, version: 3, createdAtMillis: created)
        let student = try ModelCompression.distil(production, data: data, guardSettings: settings, version: 4, createdAtMillis: created)
        let studentInt8 = try ModelCompression.int8(student, data: data, guardSettings: settings, version: 5, createdAtMillis: created)
        for (name, set) in [("int8", int8), ("student-f32", student), ("student-int8", studentInt8)] {
            if let verdict = set.metrics.compression?.verdict { print("\(name) against its parent, guard: \(verdict.summary)") }
        }
        return [("dense-f32", denseF32), ("int8", int8), ("student-f32", student), ("student-int8", studentInt8)]
    }
}
