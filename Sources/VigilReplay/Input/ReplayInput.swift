// Everything a backtest reads, decoded up front: events in file order, ground truth, labels.
import VigilFeatures

/// One malformed input row: its 1-based line number in its file and why it was refused.
public struct InputProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`; for a message (line 0) `topic[partition]@offset: reason`.
    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}

/// What to do with a malformed row.
public enum MalformedRowPolicy: String, Sendable, Equatable, CaseIterable {
    /// Report it (with its line number) and go on without it.
    case skip
    /// Stop reading with an error naming the line.
    case fail
}

/// Ground truth of one event for the metrics: fraud, legit, or not known.
public enum Truth: Int8, Sendable, Equatable {
    case legit = 0
    case fraud = 1
    case unknown = -1
}

/// The decoded replay input. Events stay in file order (the order `serve` would have seen).
public struct ReplayInput: Sendable {
    public var events: [TransactionEvent]
    /// Ground truth per event (same index as `events`), used only by the metrics and, when no
    /// labels file is given, as the source of delayed training labels.
    public var truth: [Truth]
    /// Labels from a separate labels file (their `timestampMillis` is when the label arrived).
    public var labels: [LabelEvent]
    /// Malformed rows that were skipped.
    public var problems: [InputProblem]
    /// CSV columns carried as `features.<column>` (empty for JSONL).
    public var featureColumns: [String] = []
    /// Event fields the input has no column for (CSV): features that need them are left out
    /// (`ReplayConfiguration.spec(for:)`), and card precision is not applicable without cards.
    public var absentFields: Set<EventField> = []

    public init(events: [TransactionEvent] = [], truth: [Truth] = [], labels: [LabelEvent] = [], problems: [InputProblem] = []) {
        self.events = events
        self.truth = truth
        self.labels = labels
        self.problems = problems
    }

    /// Fills unknown truth from the labels file: an event with a fraud label is fraud, every
    /// other event legit (chargebacks name the frauds; unlabelled traffic is taken as legit).
    /// Returns the number of events whose truth came from the labels.
    @discardableResult
    public mutating func resolveTruthFromLabels() -> Int {
        guard truth.contains(.unknown) else { return 0 }
        var fraudIDs = Set<String>()
        for label in labels where label.isFraud { fraudIDs.insert(label.eventID) }
        var filled = 0
        for i in events.indices where truth[i] == .unknown {
            truth[i] = fraudIDs.contains(events[i].eventID) ? .fraud : .legit
            filled += 1
        }
        return filled
    }
}
