// How well a finished model set detects fraud on events it never learnt from: it scores the
// whole input frozen (the earlier events only build the feature state, as in serve), and is
// judged on the events from an index on. Two model sets measured on the same input see the
// same feature vectors, so their figures differ only by what the models learnt.
import VigilEngine
import VigilFeatures
import VigilML

public enum HeldOutEvaluation {
    public struct Figure: Sendable, CustomStringConvertible {
        public var auprc: Double?
        /// 95% percentile bootstrap interval of `auprc` (events resampled as independent).
        public var interval: ConfidenceInterval?
        public var events: Int
        public var frauds: Int

        /// The interval's width as a standard error (a normal interval is ±1.96 of them).
        public var standardError: Double? { interval.map { ($0.high - $0.low) / (2 * 1.96) } }

        public var description: String {
            let a = auprc.map { String(format: "%.4f", $0) } ?? "-"
            let se = standardError.map { String(format: "%.4f", $0) } ?? "-"
            return "AUPRC \(a) (SE \(se)) over \(events) held-out events, \(frauds) fraud"
        }
    }

    /// - Parameters:
    ///   - models: the model set to judge, frozen.
    ///   - input: the events in serve's order with their truth; those before `from` build state only.
    ///   - from: the first held-out event.
    public static func measure(_ models: ModelSet, input: ReplayInput, from: Int, spec: FeatureSpec) throws -> Figure {
        var c = ReplayConfiguration()
        c.name = "held-out v\(models.version)"
        c.freeze = true
        c.initialModel = models.encoded()
        c.initialModelSource = "version \(models.version)"
        c.featureSpec = spec
        c.evaluateFrom = .event(from)
        let result = try ReplayRunner.run(input, configuration: c)
        let judged = (from..<input.events.count).filter { input.truth[$0] != .unknown }
        let fraud = judged.map { input.truth[$0] == .fraud }
        let metrics = BinaryMetrics(scores: judged.map { result.risks[$0] }, isFraud: fraud)
        return Figure(auprc: metrics.auprc, interval: metrics.bootstrap(budgets: [], replicates: 500, seed: 1).auprc,
                      events: judged.count, frauds: fraud.count { $0 })
    }
}
