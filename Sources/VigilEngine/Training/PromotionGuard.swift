// The promotion guard: a candidate replaces the live model only if it is not worse on a
// recent held-out window. With enough labelled fraud in the window the metric is average
// precision (AUPRC) of the risk the decision policy sees; otherwise the autoencoder's mean
// reconstruction error on held-out recent traffic. Log-loss is measured and logged too.
import Foundation
import VigilML

/// The guard's judgement of one candidate.
public struct PromotionVerdict: Sendable, Equatable {
    public enum Metric: String, Sendable { case averagePrecision = "average_precision", reconstructionError = "reconstruction_error" }
    public var promote: Bool
    /// The metric that decided.
    public var metric: Metric
    public var live: ModelMetrics
    public var candidate: ModelMetrics

    /// One line for the log: `promote by average_precision 0.412 -> 0.455 (log-loss 0.31 -> 0.28)`.
    public var summary: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
        let (a, b) = metric == .averagePrecision ? (live.averagePrecision, candidate.averagePrecision)
                                                 : (live.reconstructionError, candidate.reconstructionError)
        return "\(promote ? "promote" : "reject") by \(metric.rawValue) \(f(a)) -> \(f(b)) (log-loss \(f(live.logLoss)) -> \(f(candidate.logLoss)), held-out \(candidate.heldOutEvents) labelled, \(candidate.heldOutFraud) fraud)"
    }
}

struct PromotionGuard {
    let configuration: OnlineTrainerConfiguration
    let risk: RiskScorerConfiguration

    /// Measures one model pair on held-out traffic (reconstruction) and labelled events (risk).
    func measure(_ scorer: Scorer, classifierIsTrained: Bool, traffic: ExampleRows, labelled: ExampleRows) throws -> ModelMetrics {
        var m = ModelMetrics()
        if traffic.count > 0 {
            let (_, errors) = try score(scorer, traffic)
            let fem = scorer.anomaly.normalRegion.featureErrorMean
            let d = traffic.featureWidth
            var total = 0.0
            for j in 0..<traffic.count { for f in 0..<d { total += Double(errors[j * d + f] * fem[f]) } }
            m.reconstructionError = total / Double(traffic.count * d)
        }
        m.heldOutEvents = labelled.count
        m.heldOutFraud = labelled.fraudCount
        if labelled.count > 0 {
            let (scores, _) = try score(scorer, labelled)
            let risks = scores.map { risk.risk($0, classifierIsTrained: classifierIsTrained) }
            m.averagePrecision = RankingMetrics.averagePrecision(scores: risks, labels: labelled.labels.map { $0 >= 0.5 })
            var loss = 0.0
            for (r, y) in zip(risks, labelled.labels) {
                let p = min(max(Double(r), 1e-6), 1 - 1e-6)
                loss -= y >= 0.5 ? log(p) : log(1 - p)
            }
            m.logLoss = loss / Double(labelled.count)
        }
        return m
    }

    func judge(live: ModelMetrics, candidate: ModelMetrics) -> PromotionVerdict {
        let labelledDecides = candidate.heldOutFraud >= configuration.minimumHoldoutFraud
            && candidate.heldOutFraud < candidate.heldOutEvents
        if labelledDecides, let a = live.averagePrecision, let b = candidate.averagePrecision {
            return PromotionVerdict(promote: b >= a - configuration.averagePrecisionTolerance, metric: .averagePrecision,
                                    live: live, candidate: candidate)
        }
        let a = live.reconstructionError ?? .infinity, b = candidate.reconstructionError ?? .infinity
        return PromotionVerdict(promote: b.isFinite && b <= a * (1 + configuration.reconstructionTolerance),
                                metric: .reconstructionError, live: live, candidate: candidate)
    }

    private func score(_ scorer: Scorer, _ rows: ExampleRows) throws -> ([Score], [Float]) {
        var scores = [Score](repeating: Score(), count: rows.count)
        var errors = [Float](repeating: 0, count: rows.count * rows.featureWidth)
        let sparse = scorer.classifier.configuration.hashBuckets > 0 ? rows.sparseBatch : nil
        try rows.dense.withUnsafeBufferPointer { r in
            try scores.withUnsafeMutableBufferPointer { s in
                try errors.withUnsafeMutableBufferPointer { e in
                    try scorer.score(batch: r, sparse: sparse, count: rows.count, into: s, featureErrors: e, workspace: ScoringWorkspace())
                }
            }
        }
        return (scores, errors)
    }
}
