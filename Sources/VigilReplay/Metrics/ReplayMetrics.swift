// The deterministic result of one backtest: what goes into the metrics JSON file.
import Foundation
import VigilML

/// Metrics of one replay. Contains nothing measured in wall-clock time, so the same input,
/// configuration and seed give byte-identical JSON (`encodedJSON()`); timing lives in `ReplayTiming`.
public struct ReplayMetrics: Sendable, Codable, Equatable {
    public struct Budget: Sendable, Codable, Equatable {
        public var budget: Double
        public var alerts: Int
        public var precision: Double?
        public var recall: Double?
        /// Bootstrap intervals (see `bootstrap`); nil where the metric is.
        public var precisionInterval: ConfidenceInterval?
        public var recallInterval: ConfidenceInterval?
    }

    /// How the intervals were made: percentile intervals over `replicates` Poisson-bootstrap
    /// resamples of the evaluated events, seeded with the replay's seed (`BinaryMetrics.bootstrap`).
    public struct Bootstrap: Sendable, Codable, Equatable {
        public var method: String
        public var replicates: Int
        public var level: Double
        public var seed: UInt64
    }

    /// Alert rate and AUPRC through the stream: per UTC day when the evaluated events span
    /// `MetricsBuilder.minimumDaysForDailyTimeline` days or more, else per `eventsPerPeriod` events.
    public struct Timeline: Sendable, Codable, Equatable {
        /// "day" or "events".
        public var unit: String
        public var eventsPerPeriod: Int?
        public var periods: [Period]
    }

    public struct Period: Sendable, Codable, Equatable {
        /// Per day: the UTC date, YYYY-MM-DD.
        public var date: String?
        /// Per N events: the stream indices the period covers, [firstEvent, endEvent).
        public var firstEvent: Int?
        public var endEvent: Int?
        /// Evaluated events (known truth) in the period, their frauds and alerts.
        public var events: Int
        public var frauds: Int
        public var alerts: Int
        /// nil without frauds in the period.
        public var auprc: Double?
    }

    public struct Day: Sendable, Codable, Equatable {
        /// UTC date, YYYY-MM-DD.
        public var date: String
        public var events: Int
        public var frauds: Int
        /// Events the decision policy did not allow (review or block).
        public var alerts: Int
        /// Cards ranked by their highest risk that day; share of the top k with a fraud that day.
        public var cardPrecisionAtK: Double?
        public var cardsRanked: Int
    }

    public struct Histogram: Sendable, Codable, Equatable {
        /// Counts of risks in `bins` equal-width bins over [0, 1].
        public var fraud: [Int]
        public var legit: [Int]
    }

    public struct Promotion: Sendable, Codable, Equatable {
        /// Events replayed when the round took its data (its snapshot of recent traffic and labels).
        public var trainedOnEvents: Int
        /// Events replayed when its outcome was applied (the candidate published or not), and the event time then.
        public var afterEvents: Int
        public var eventTime: String
        public var round: Int
        /// Labels the learner had learnt from when the check ran (the candidate's, if published).
        public var labelsLearnt: Int
        /// promoted, rejected, reset, stale or followed.
        public var outcome: String
        public var version: Int64
        public var detail: String
    }

    public var name: String
    public var configuration: [String: String]
    public var events: Int
    /// Events scored (and learnt from) but left out of the metrics: the cold start's warm-up,
    /// or everything before `--evaluate-from`.
    public var warmUpEvents: Int
    public var evaluatedEvents: Int
    public var frauds: Int
    public var fraudRate: Double?
    public var auprc: Double?
    public var auprcInterval: ConfidenceInterval?
    public var bootstrap: Bootstrap
    /// AUPRC of the first and the second half of the evaluated events (in stream order): how
    /// detection holds up as the stream drifts.
    public var auprcFirstHalf: Double?
    public var auprcSecondHalf: Double?
    public var rocAUC: Double?
    public var budgets: [Budget]
    public var alertRate: Double?
    public var days: [Day]
    public var timeline: Timeline
    public var cardsPerDayK: Int
    /// False when the input has no card column: every event shares one pseudo-card, so card
    /// precision@k is not applicable (each day's is then absent).
    public var cardPrecisionApplicable: Bool
    public var riskHistogram: Histogram
    public var promotions: [Promotion]
    public var labelsDelivered: Int
    public var labelsUnmatched: Int
    public var finalModelVersion: Int64
    public var skippedRows: Int
    /// Every distinct threshold's point but those inside a straight run (`BinaryMetrics.curves`):
    /// the PR curve as the step function whose area is `auprc`, the ROC curve from (0, 0).
    public var prCurve: [CurvePoint]
    public var rocCurve: [CurvePoint]
    /// Per-rule fires, precision and recall over the evaluated events (absent without rules).
    public var rules: [RuleMetrics]?
    /// Decisions that differ from the baseline rule set's (`vigil rules test`; absent otherwise).
    public var ruleChanges: RuleChanges?

    /// Sorted keys, no whitespace variation: the same metrics give the same bytes.
    public func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }
}

/// Wall-clock figures of one replay, kept out of the metrics file because they vary run to run.
public struct ReplayTiming: Sendable, Codable, Equatable {
    public var seconds: Double
    public var eventsPerSecond: Double
    /// Time spent training (in the background, or on the replay thread with a publish delay of 0).
    public var trainingSeconds: Double
    /// Time the replay thread spent waiting for a round (all of it when rounds are synchronous).
    public var trainingWaitSeconds: Double
    public var coldStartSeconds: Double
    /// Where the replay thread's time went (wall clock, summed over batches): models and
    /// decisions; handing scored batches and due labels to the trainer (`observe`,
    /// `record(label:)`) and taking and publishing rounds; the metrics at the end (not part of
    /// `seconds`). The cold start, the waits for rounds and for features and the first two
    /// make up `seconds`, to within the loop's bookkeeping.
    public var scoringSeconds: Double = 0
    public var learningSeconds: Double = 0
    public var metricsSeconds: Double = 0
    /// Feature extraction and the label clock, on their own thread a few batches ahead
    /// (`FeatureStage`): the time that thread worked, and the time the replay thread waited
    /// for it (the part of it that the other core could not hide).
    public var featureSeconds: Double = 0
    public var featureWaitSeconds: Double = 0
}
