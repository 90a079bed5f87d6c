// Offset gaps are never silent. A partition's stored offset (`consumer_offsets.next_offset`)
// must meet the log: the first message after it must be the message at it, and the log must
// reach it. Two breaks are detected and recorded in `offset_anomalies`:
// - a retention gap: messages past the stored offset were deleted before they were decided
//   (the consumer jumps forward past the stored offset, and the log now starts after it);
// - a stored offset past the log end (the topic was re-created or truncated).
// Each is handled by `OffsetAnomalyPolicy`: halt the partition (default) or record and go on.
// The rules are pure functions and a state machine here; the batch loop does the I/O.
import Synchronization
import VigilKafka

/// What broke in a partition's offsets. Stable raw values: stored in `offset_anomalies.kind`.
public enum OffsetAnomalyKind: String, Sendable, CaseIterable {
    /// Messages at and after the stored offset are gone from the log (retention, DeleteRecords).
    case retentionGap = "retention_gap"
    /// The stored offset is beyond the log's end (topic re-created, log truncated).
    case pastLogEnd = "past_log_end"
}

/// What serve does about an offset anomaly (setting `offset_anomaly_policy`).
public enum OffsetAnomalyPolicy: String, Sendable, CaseIterable {
    /// Stop consuming the partition (paused until a restart or rebalance, which checks
    /// again); `/readyz` names it. Default: an operator decides.
    case halt
    /// Record it and go on: after a gap, from the first message still in the log; past the
    /// log end, from the stored offset (messages below it in the new log are never decided).
    case skip
}

public enum OffsetContinuityRules {
    /// A forward jump among a partition's delivered offsets that skips undecided offsets:
    /// past the stored offset `committedNext`, messages were not delivered. `position` is
    /// where the feature state stands (the next offset it has not seen; nil when it starts
    /// from the log's beginning). Returns the index of the first message after the jump and
    /// the offset expected there (at least `committedNext`), or nil when nothing undecided
    /// was skipped. A jump is only a candidate: transaction markers and compaction also skip
    /// offsets, so the caller confirms it with the log's start (`isRetentionGap`).
    public static func undecidedJump(offsets: some Collection<Int64>, position: Int64?, committedNext: Int64?) -> (index: Int, expected: Int64)? {
        guard let committed = committedNext else { return nil }  // never committed: starts at the log's beginning
        var expected = position
        for (index, offset) in offsets.enumerated() {
            if offset > committed {
                // Undecided offsets were skipped when this message is past both the stored
                // offset and the next one the stream should have delivered.
                let should = max(expected ?? committed, committed)
                if offset > should { return (index, should) }
            }
            expected = offset + 1
        }
        return nil
    }

    /// A jump confirmed by the log: its start (low watermark) is past the offset expected.
    public static func isRetentionGap(expected: Int64, logStart: Int64) -> Bool { logStart > expected }

    /// The stored offset lies beyond the log's end.
    public static func isPastLogEnd(committedNext: Int64, logEnd: Int64) -> Bool { committedNext > logEnd }
}

/// Per owned partition: whether the log is known to reach its stored offset, and which
/// partitions are halted. Shared by the rebalance handler (assign/revoke), the batch loop
/// (deliveries, checks) and /readyz, behind one lock.
public final class OffsetContinuity: Sendable {
    private let machine: Mutex<StateMachine>

    public init(grace: Duration = .seconds(5), recheck: Duration = .seconds(1)) {
        machine = Mutex(StateMachine(grace: grace, recheck: recheck))
    }

    public func assigned(_ partition: KafkaTopicPartition, committedNext: Int64?, at now: ContinuousClock.Instant = .now) {
        machine.withLock { $0.assigned(partition, committedNext: committedNext, at: now) }
    }
    public func removed(_ partitions: [KafkaTopicPartition]) { machine.withLock { $0.removed(partitions) } }
    public func delivered(_ partition: KafkaTopicPartition, through offset: Int64) {
        machine.withLock { $0.delivered(partition, through: offset) }
    }
    public func due(at now: ContinuousClock.Instant = .now) -> [(KafkaTopicPartition, committedNext: Int64)] {
        machine.withLock { $0.due(at: now) }
    }
    public func observed(_ partition: KafkaTopicPartition, logEnd: Int64, at now: ContinuousClock.Instant = .now) -> StateMachine.Verdict {
        machine.withLock { $0.observed(partition, logEnd: logEnd, at: now) }
    }
    public func halt(_ partition: KafkaTopicPartition, reason: String) { machine.withLock { $0.halt(partition, reason: reason) } }
    public func isHalted(_ partition: KafkaTopicPartition) -> Bool { machine.withLock { $0.isHalted(partition) } }
    /// Halted partitions and why, for /readyz and logs.
    public var halted: [KafkaTopicPartition: String] { machine.withLock { $0.halted } }

    /// The transitions, free of I/O.
    public struct StateMachine: Sendable {
        enum State: Sendable, Equatable {
            /// Not yet seen to reach the stored offset; `strikes` checks found the log short.
            case unverified(committedNext: Int64, since: ContinuousClock.Instant, lastCheck: ContinuousClock.Instant?, strikes: Int)
            case verified
            case halted(String)
        }

        public enum Verdict: Sendable, Equatable {
            case fine
            /// Not decided yet: the log looked short, check again.
            case suspect
            /// The log ends below the stored offset (seen twice, `recheck` apart).
            case pastLogEnd(committedNext: Int64, logEnd: Int64)
        }

        let grace: Duration
        let recheck: Duration
        var partitions: [KafkaTopicPartition: State] = [:]

        public init(grace: Duration, recheck: Duration) {
            self.grace = grace
            self.recheck = recheck
        }

        /// A partition arrived. Without a stored offset there is nothing to meet.
        public mutating func assigned(_ partition: KafkaTopicPartition, committedNext: Int64?, at now: ContinuousClock.Instant) {
            if let committedNext, committedNext > 0 {
                partitions[partition] = .unverified(committedNext: committedNext, since: now, lastCheck: nil, strikes: 0)
            } else {
                partitions[partition] = .verified
            }
        }

        public mutating func removed(_ gone: [KafkaTopicPartition]) {
            for partition in gone { partitions[partition] = nil }
        }

        /// Messages up to `offset` arrived: the log reaches the stored offset once the message
        /// just below it (or any later one) has been delivered.
        public mutating func delivered(_ partition: KafkaTopicPartition, through offset: Int64) {
            guard case .unverified(let committed, _, _, _)? = partitions[partition], offset + 1 >= committed else { return }
            partitions[partition] = .verified
        }

        /// Unverified partitions whose grace has passed and whose last check is `recheck` old.
        /// The grace lets the fetcher deliver or learn the log end first: a cached high
        /// watermark from before this assignment can be stale.
        public func due(at now: ContinuousClock.Instant) -> [(KafkaTopicPartition, committedNext: Int64)] {
            partitions.compactMap { partition, state in
                guard case .unverified(let committed, let since, let last, _) = state, now - since >= grace else { return nil }
                if let last, now - last < recheck { return nil }
                return (partition, committed)
            }.sorted { $0.0 < $1.0 }
        }

        /// The log end as the broker reports it now.
        public mutating func observed(_ partition: KafkaTopicPartition, logEnd: Int64, at now: ContinuousClock.Instant) -> Verdict {
            guard case .unverified(let committed, let since, _, let strikes)? = partitions[partition] else { return .fine }
            guard OffsetContinuityRules.isPastLogEnd(committedNext: committed, logEnd: logEnd) else {
                partitions[partition] = .verified
                return .fine
            }
            if strikes + 1 >= 2 {
                partitions[partition] = .verified  // decided: the caller halts or records and goes on
                return .pastLogEnd(committedNext: committed, logEnd: logEnd)
            }
            partitions[partition] = .unverified(committedNext: committed, since: since, lastCheck: now, strikes: strikes + 1)
            return .suspect
        }

        public mutating func halt(_ partition: KafkaTopicPartition, reason: String) {
            partitions[partition] = .halted(reason)
        }

        public func isHalted(_ partition: KafkaTopicPartition) -> Bool {
            if case .halted? = partitions[partition] { return true }
            return false
        }

        public var halted: [KafkaTopicPartition: String] {
            var out: [KafkaTopicPartition: String] = [:]
            for (partition, state) in partitions { if case .halted(let reason) = state { out[partition] = reason } }
            return out
        }
    }
}
