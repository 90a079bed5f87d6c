// How a compressed model set compares with the set it was made from: kept in its metrics
// (the `metrics` column of vigil.models) and printed by `vigil models compress`.

/// A compressed version against its parent on the same held-back recent events.
public struct CompressionMetrics: Sendable, Equatable, Codable {
    /// "int8" or "distil".
    public var method: String
    public var parentVersion: Int64
    /// Events the activation codes were calibrated on (INT8) or the student learnt from
    /// (distil), and events held back for the comparison.
    public var calibrationEvents: Int
    public var heldBackEvents: Int
    /// Held-back events with known truth, and how many of them were fraud.
    public var heldBackLabels: Int
    public var heldBackFrauds: Int
    /// Share of held-back events whose fraud probability falls on the same side of 0.5 for both.
    public var agreement: Double
    /// Largest and mean |Δ fraud probability| over the held-back events.
    public var maxProbabilityDifference: Double
    public var meanProbabilityDifference: Double
    /// Largest |Δ anomaly score| (standard-score units).
    public var maxAnomalyDifference: Double
    /// Average precision and mean log-loss of the fraud probability on the held-back labels;
    /// nil without both classes (average precision) or without labels (log-loss).
    public var averagePrecision: Double?
    public var parentAveragePrecision: Double?
    public var logLoss: Double?
    public var parentLogLoss: Double?
    /// Bytes the scorer holds for weights (both models).
    public var weightBytes: Int
    public var parentWeightBytes: Int
    /// Batched scoring rate of both models on one thread while compressing (a busy machine
    /// lowers both alike; `tools/bench models` is the measurement to quote).
    public var eventsPerSecond: Double
    public var parentEventsPerSecond: Double
    /// The promotion guard's verdict on it against its parent on the held-back events; nil
    /// for versions compressed before the guard judged them.
    public var verdict: CompressionVerdict? = nil

    enum CodingKeys: String, CodingKey {
        case method, parentVersion = "parent_version", calibrationEvents = "calibration_events"
        case heldBackEvents = "held_back_events", heldBackLabels = "held_back_labels", heldBackFrauds = "held_back_frauds"
        case agreement, maxProbabilityDifference = "max_probability_difference", meanProbabilityDifference = "mean_probability_difference"
        case maxAnomalyDifference = "max_anomaly_difference"
        case averagePrecision = "average_precision", parentAveragePrecision = "parent_average_precision"
        case logLoss = "log_loss", parentLogLoss = "parent_log_loss"
        case weightBytes = "weight_bytes", parentWeightBytes = "parent_weight_bytes"
        case eventsPerSecond = "events_per_s", parentEventsPerSecond = "parent_events_per_s"
        case verdict = "guard"
    }
}
