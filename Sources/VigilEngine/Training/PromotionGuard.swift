// The promotion guard: the challenger replaces the live model only if it is not worse on the
// prequential window (every label scored by both before the challenger learnt from it). With
// enough frauds in the window the metric is average precision (AUPRC) of the risk the decision
// policy sees, within a margin of the window's own noise; otherwise the autoencoders'
// prequential reconstruction error, and then only while the live classifier has not learnt.
import Foundation
import VigilML

/// The guard's judgement of one challenger.
public struct PromotionVerdict: Sendable, Equatable {
    public enum Metric: String, Sendable { case averagePrecision = "average_precision", reconstructionError = "reconstruction_error" }
    public var promote: Bool
    /// The challenger's log-loss blew up (or went non-finite): it is reset to the live weights.
    public var diverged: Bool
    /// The metric that decided; nil when nothing could (no evidence yet).
    public var metric: Metric?
    /// How far below the live AUPRC the challenger may be (average precision only).
    public var margin: Double?
    public var live: ModelMetrics
    public var candidate: ModelMetrics

    /// One line for the log: `promote by average_precision 0.412 -> 0.455 (margin 0.031, log-loss 0.031 -> 0.028, window 20000 labels, 86 fraud)`.
    public var summary: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
        let what = diverged ? "reset (diverged)" : promote ? "promote" : "reject"
        let (a, b) = metric == .reconstructionError ? (live.reconstructionError, candidate.reconstructionError)
                                                    : (live.averagePrecision, candidate.averagePrecision)
        return "\(what) by \(metric?.rawValue ?? "no evidence") \(f(a)) -> \(f(b)) (margin \(f(margin)), log-loss \(f(live.logLoss)) -> \(f(candidate.logLoss)), window \(candidate.windowLabels) labels, \(candidate.windowFrauds) fraud)"
    }
}

struct PromotionGuard {
    let configuration: OnlineTrainerConfiguration

    /// - Parameters:
    ///   - window: both models' prequential figures.
    ///   - reconstruction: the autoencoders' prequential mean reconstruction errors, if measured.
    ///   - liveClassifierTrained: whether the live model's risk already includes its classifier.
    func judge(window w: PrequentialWindow.Figures, reconstruction: (live: Double, challenger: Double)?,
               liveClassifierTrained: Bool) -> PromotionVerdict {
        var live = ModelMetrics(averagePrecision: w.liveAveragePrecision, logLoss: w.liveLogLoss,
                                reconstructionError: reconstruction?.live, windowLabels: w.labels, windowFrauds: w.frauds)
        var candidate = live
        candidate.averagePrecision = w.challengerAveragePrecision
        candidate.logLoss = w.challengerLogLoss
        candidate.reconstructionError = reconstruction?.challenger
        live.windowLabels = w.labels
        var verdict = PromotionVerdict(promote: false, diverged: false, metric: nil, margin: nil, live: live, candidate: candidate)

        // A blow-up, not a drift: a ratio alone would flag a challenger whose calibration merely
        // lags (0.01 -> 0.04 is fourfold), so it must also be half a nat per label worse.
        // A ratio over a handful of labels is noise (a reset clears the window, and a loop of
        // resets on tiny windows would keep the challenger from ever learning), so the ratio
        // needs as many labels as the classifier needs to start; non-finite is always fatal.
        if let c = w.challengerLogLoss, w.labels > 0 {
            let l = w.liveLogLoss ?? c
            let blewUp = w.labels >= configuration.minimumLabels && l.isFinite
                && c > l * configuration.divergenceLogLossRatio && c > l + 0.5
            if !c.isFinite || blewUp {
                verdict.diverged = true
                return verdict
            }
        }
        if let c = reconstruction?.challenger, !c.isFinite {
            verdict.diverged = true
            return verdict
        }
        if w.frauds >= configuration.guardMinimumFrauds, let a = w.liveAveragePrecision, let b = w.challengerAveragePrecision {
            // Standard error of an average precision over `frauds` positives, treated as a
            // proportion: the noise two models' window figures differ by without being different.
            let se = (max(a, b) * (1 - max(a, b)) / Double(w.frauds)).squareRoot()
            let margin = configuration.guardMarginStandardErrors * se
            verdict.metric = .averagePrecision
            verdict.margin = margin
            verdict.promote = b >= a - margin
            return verdict
        }
        // Too few frauds to judge a classifier: only an autoencoder change can be judged, and
        // only while the live risk does not yet rest on a classifier that this would replace.
        guard !liveClassifierTrained, let r = reconstruction else { return verdict }
        verdict.metric = .reconstructionError
        verdict.promote = r.challenger.isFinite && r.challenger <= r.live * (1 + configuration.reconstructionTolerance)
        return verdict
    }
}
