// Settings of one backtest.
import VigilEngine
import VigilFeatures
import VigilML

/// Which models produce the risk.
public enum ReplayModels: String, Sendable, Equatable, CaseIterable {
    /// Autoencoder only: the classifier never trains (its minimum label count is unreachable).
    case cae
    /// Classifier only: no anomaly inputs into it and anomaly weight 0 in the risk once it has
    /// learned. Until its first training round the engine's risk is still the autoencoder's.
    case classifier
    /// Both, as `serve` runs them.
    case both
}

/// When a label becomes visible to the engine (extractor label state and trainer).
public enum LabelDelay: Sendable, Equatable, CustomStringConvertible {
    /// After this many further events were scored (at least 1: an event is always scored first).
    case events(Int)
    /// Once the replayed stream's event time reaches the event's time plus this many milliseconds.
    case eventTime(millis: Int64)
    /// At the label's own timestamp in the labels file (when it arrived in reality).
    case recorded

    public var description: String {
        switch self {
        case .events(let n): "\(n) events"
        case .eventTime(let ms): "\(ms) ms event time"
        case .recorded: "recorded label times"
        }
    }

    /// Parses `500` / `500e` (events), `72h`, `30m`, `90s`, `2d` (event time) or `recorded`.
    public static func parse(_ text: String) -> LabelDelay? {
        if text == "recorded" { return .recorded }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v >= 0, v.isFinite, v * Double(millis) < 1e15 else { return nil }
            return .eventTime(millis: Int64(v * Double(millis)))
        }
        guard let n = Int(text.hasSuffix("e") ? String(text.dropLast()) : text), n >= 1 else { return nil }
        return .events(n)
    }
}

/// Where the metrics start: everything before is scored and learnt from, never evaluated.
public enum EvaluationStart: Sendable, Equatable, CustomStringConvertible {
    /// At this event index (0-based, in file order).
    case event(Int)
    /// At the first event at or after this event time (milliseconds since the epoch).
    case time(millis: Int64)

    public var description: String {
        switch self {
        case .event(let n): "event \(n)"
        case .time(let ms): EventTimestamp.formatRFC3339(ms)
        }
    }

    /// Parses an event index (`250000`) or an RFC 3339 time (`2026-03-01T00:00:00Z`).
    public static func parse(_ text: String) -> EvaluationStart? {
        if let n = Int(text), n >= 0 { return .event(n) }
        return EventTimestamp.parseRFC3339(text).map { .time(millis: $0) }
    }

    /// The first evaluated index of `events` (their count when none qualifies).
    func index(in events: [TransactionEvent]) -> Int {
        switch self {
        case .event(let n): min(n, events.count)
        case .time(let ms): events.firstIndex { $0.timestampMillis >= ms } ?? events.count
        }
    }
}

public struct ReplayConfiguration: Sendable {
    /// Shown in reports and the backtest_runs row. Default: "replay".
    public var name = "replay"
    /// Default: both.
    public var models = ReplayModels.both
    /// No training rounds at all: the starting models score everything. Default: false.
    public var freeze = false
    /// Default: 1000 events.
    public var labelDelay = LabelDelay.events(1000)
    /// Events per scoring batch (as `serve` scores a poll). Default: 256.
    public var batchSize = 256
    /// A cold start trains the first model on this many leading events (scored but not
    /// evaluated). Ignored with `initialModel`. Default: 2048.
    public var warmUpEvents = 2048
    /// Seeds the models' initialisation and the trainer. Default: 1.
    public var seed: UInt64 = 1
    /// A saved model set (ModelSet's stored form); nil starts from scratch. Default: nil.
    public var initialModel: [UInt8]?
    /// Where the starting model came from, for the record. Default: "cold start".
    public var initialModelSource = "cold start"
    public var featureSpec = FeatureSpec.standard
    /// Metrics cover only the events from here on (never the cold start's warm-up either);
    /// nil evaluates everything after the warm-up. Default: nil.
    public var evaluateFrom: EvaluationStart?
    /// Alert budgets as shares of events. Default: 0.1%, 0.5%, 1%.
    public var alertBudgets = [0.001, 0.005, 0.01]
    /// k of card precision@k per day. Default: 100.
    public var cardsPerDay = 100
    /// Shapes of a cold-started model set (its seed is replaced by `seed`). Default: the engine's.
    public var architecture = ModelArchitecture()
    public var policy = DecisionPolicyConfiguration()
    /// Analysts' rules decided with, after the policy's own (`--rules FILE|db`). Default: none.
    public var rules: [Rule] = []
    /// The lists those rules name. Default: none.
    public var ruleLists = RuleLists.none
    /// When set, the rule set to compare decisions with (the rules in force, for `vigil rules
    /// test`): `metrics.ruleChanges` counts what `rules` change. Default: nil.
    public var baselineRules: [Rule]?
    public var trainer = OnlineTrainerConfiguration()
    public var risk = RiskScorerConfiguration()

    public init() {}

    /// The spec for an input: `base` without the features that need a field the input lacks
    /// (a CSV without card or merchant columns), plus one feature per extra numeric column.
    public static func spec(for input: ReplayInput, base: FeatureSpec = .standard) -> FeatureSpec {
        spec(addingFeatures: input.featureColumns, to: base.withoutFeatures(needing: input.absentFields))
    }

    /// The standard spec plus one standardised, clipped dense feature per extra numeric column
    /// (`features.<column>`), for datasets whose signal is in their own columns.
    public static func spec(addingFeatures columns: [String], to base: FeatureSpec = .standard) -> FeatureSpec {
        var spec = base
        for column in columns {
            spec.dense.append(FeatureSpec.DenseFeature("features.\(column)", standardize: true, clip: -8...8, default: 0))
        }
        return spec
    }

    func validate() throws {
        guard batchSize > 0, warmUpEvents >= 64, cardsPerDay > 0,
              alertBudgets.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw ReplayError(.invalidConfiguration, "replay setting out of range (batch size, warm-up ≥ 64, budgets in (0, 1])")
        }
        if case .events(let n) = labelDelay, n < 1 { throw ReplayError(.invalidConfiguration, "a label delay in events must be at least 1") }
    }

    /// The settings as text, for the metrics file and the database row (stable keys and values).
    public var record: [String: String] {
        [
            "name": name, "models": models.rawValue, "freeze": "\(freeze)", "label_delay": labelDelay.description,
            "batch_size": "\(batchSize)", "warm_up_events": "\(warmUpEvents)", "seed": "\(seed)",
            "initial_model": initialModelSource, "feature_spec_hash": featureSpec.specHashHex,
            // OpenBLAS's kernels round differently, so they are part of what the bytes depend on.
            "blas_kernel": BLAS.coreName,
            "review_threshold": "\(policy.reviewThreshold)", "block_threshold": "\(policy.blockThreshold)",
            // The learner's schedule, in the clock replay runs it on (event time).
            "trainer": trainer.scheduleDescription, "learner_clock": "event time",
            "evaluate_from": evaluateFrom?.description ?? "after warm-up",
        ]
    }
}
