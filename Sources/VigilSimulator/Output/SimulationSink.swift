// Where simulated records go. Files now; a Kafka sink (transactions and labels topics, key =
// card id) plugs in here once VigilKafka's producer is merged: it only has to conform.

/// A destination for the simulator's stream. Calls arrive in time order from one task.
public protocol SimulationSink: AnyObject {
    func write(_ transaction: SimulatedTransaction) async throws
    func write(_ label: SimulatedLabel) async throws
    /// Flushes and closes; no writes follow.
    func finish() async throws
}

/// Output formats for file sinks.
public enum SimulationFileFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, exactly the event and label contracts (what Kafka would carry).
    case jsonl
    /// A header row, then one row per record.
    case csv
}
