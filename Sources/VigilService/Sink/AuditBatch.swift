// Everything one consumed batch produces, written by AuditWriter in one transaction.
import Foundation
import VigilEngine
import VigilFeatures
import VigilKafka

/// The rows of one batch: decisions (alerts derive from them), dead letters, the offset
/// advances that fence them, and any feature-state snapshots due.
public struct AuditBatch: Sendable {
    /// One decided event with its Kafka coordinates and, when the audit keeps it
    /// (`FeatureRetention`), the feature vector that was scored (empty otherwise).
    public struct DecidedEvent: Sendable {
        public var partition: KafkaTopicPartition
        public var offset: Int64
        /// The Kafka record's timestamp (ms): fixed for the record, so every redelivery
        /// carries the same one; with the coordinates it is the decisions table's unique key.
        public var recordTimestampMillis: Int64
        public var decision: Decision
        public var features: [Float]

        public init(partition: KafkaTopicPartition, offset: Int64, recordTimestampMillis: Int64, decision: Decision, features: [Float]) {
            self.partition = partition
            self.offset = offset
            self.recordTimestampMillis = recordTimestampMillis
            self.decision = decision
            self.features = features
        }
    }

    /// A message that failed decoding or validation.
    public struct DeadLetter: Sendable {
        public var partition: KafkaTopicPartition
        public var offset: Int64
        public var key: [UInt8]?
        /// The payload, cut to the configured limit.
        public var payload: [UInt8]
        /// `EventRejection.Code` raw value (`malformed_json`, `missing_field`...).
        public var reasonCode: String
        public var reason: String

        public init(partition: KafkaTopicPartition, offset: Int64, key: [UInt8]?, payload: [UInt8], reasonCode: String, reason: String) {
            self.partition = partition
            self.offset = offset
            self.key = key
            self.payload = payload
            self.reasonCode = reasonCode
            self.reason = reason
        }
    }

    /// A label from the labels topic, with its coordinates (they make it exactly-once).
    public struct StreamLabel: Sendable {
        public var partition: KafkaTopicPartition
        public var offset: Int64
        public var label: LabelEvent

        public init(partition: KafkaTopicPartition, offset: Int64, label: LabelEvent) {
            self.partition = partition
            self.offset = offset
            self.label = label
        }
    }

    /// The compare-and-set of one partition's stored offset.
    public struct OffsetAdvance: Sendable {
        public var partition: KafkaTopicPartition
        /// The value this instance last stored (nil: no row yet).
        public var expected: Int64?
        public var next: Int64

        public init(partition: KafkaTopicPartition, expected: Int64?, next: Int64) {
            self.partition = partition
            self.expected = expected
            self.next = next
        }
    }

    /// A partition's feature state after every event below `through`.
    public struct StateSnapshot: Sendable {
        public var partition: KafkaTopicPartition
        public var through: Int64
        public var state: [UInt8]

        public init(partition: KafkaTopicPartition, through: Int64, state: [UInt8]) {
            self.partition = partition
            self.through = through
            self.state = state
        }
    }

    /// A break in a partition's offsets found while consuming (OffsetContinuity), recorded
    /// in `offset_anomalies` with the batch.
    public struct OffsetAnomaly: Sendable, Equatable {
        public var partition: KafkaTopicPartition
        public var kind: OffsetAnomalyKind
        /// `consumer_offsets.next_offset` when it was found.
        public var storedOffset: Int64
        /// The first offset still in the log (a gap) or the log end (past the end).
        public var logOffset: Int64
        public var action: OffsetAnomalyPolicy

        public init(partition: KafkaTopicPartition, kind: OffsetAnomalyKind, storedOffset: Int64, logOffset: Int64, action: OffsetAnomalyPolicy) {
            self.partition = partition
            self.kind = kind
            self.storedOffset = storedOffset
            self.logOffset = logOffset
            self.action = action
        }
    }

    /// One wall-clock time for the whole batch (`decided_at`).
    public var decidedAt: Date
    public var decisions: [DecidedEvent] = []
    public var deadLetters: [DeadLetter] = []
    public var labels: [StreamLabel] = []
    public var offsets: [OffsetAdvance] = []
    public var snapshots: [StateSnapshot] = []
    public var offsetAnomalies: [OffsetAnomaly] = []

    public init(decidedAt: Date = Date()) {
        self.decidedAt = decidedAt
    }

    public var isEmpty: Bool {
        decisions.isEmpty && deadLetters.isEmpty && labels.isEmpty && offsets.isEmpty && snapshots.isEmpty && offsetAnomalies.isEmpty
    }
}
