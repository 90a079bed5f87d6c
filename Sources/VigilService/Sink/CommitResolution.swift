// What a batch whose COMMIT got no answer did: read the stored offsets back. One transaction
// moved every partition of the batch from `expected` to `next`, or none of them, so the
// stored values tell committed from rolled back, or show that another member moved on.
import VigilKafka

public enum CommitResolution {
    public enum Outcome: String, Sendable, CaseIterable {
        /// Every advance is stored: the batch committed, only the reply was lost.
        case committed
        /// Every partition still holds what the batch expected: nothing was kept; retry it.
        case notCommitted = "not_committed"
        /// Some partition holds neither: another member owns it now (as if fenced).
        case moved
    }

    /// `stored`: `consumer_offsets.next_offset` per partition of `advances` (absent: no row).
    public static func resolve(_ advances: [AuditBatch.OffsetAdvance], stored: [KafkaTopicPartition: Int64]) -> Outcome {
        let committed = advances.allSatisfy { stored[$0.partition] == $0.next }
        if committed { return .committed }
        let untouched = advances.allSatisfy { stored[$0.partition] == $0.expected }
        return untouched ? .notCommitted : .moved
    }
}

/// How long to wait between attempts at a database operation that failed transiently:
/// doubling from `initial` up to `maximum`, each wait drawn uniformly from its upper half
/// ("equal jitter") so members that lost the database together do not return in lockstep.
public struct RetryBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The cap for attempt `attempt` (1-based), before jitter.
    public func cap(afterAttempt attempt: Int) -> Duration {
        var wait = initial
        for _ in 1..<max(1, attempt) where wait < maximum { wait *= 2 }
        return min(wait, maximum)
    }

    /// The wait after attempt `attempt`, with `unit` in 0..<1 choosing within [cap/2, cap].
    public func wait(afterAttempt attempt: Int, unit: Double) -> Duration {
        let half = cap(afterAttempt: attempt).seconds / 2
        return .nanoseconds(Int64(((half + half * min(max(unit, 0), 1)) * 1e9).rounded()))
    }
}
