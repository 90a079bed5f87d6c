// Committing one batch while the database comes and goes: a transient failure is retried with
// capped, jittered backoff, and before each retry the stored offsets tell what the failed
// attempt did (its COMMIT may have been applied with the reply lost: CommitResolution). The
// write-behind hand-over (AuditHandOver) writes every batch through here.
import Foundation
import VigilKafka
import VigilPostgres

extension PipelineRuntime {
    /// Writes `batch`, riding out database faults: a transient failure is retried with
    /// backoff, and before each retry the stored offsets tell what the failed attempt did
    /// (its COMMIT may have been applied with the reply lost). True when the batch is stored,
    /// false when another member owns one of its partitions.
    func commit(_ batch: AuditBatch) async throws -> Bool {
        let r = self
        let consumer = r.consumer
        // A member that lost its partitions (missed max.poll.interval.ms while stalled) rolls
        // back at once instead of committing, and so releases the offset row locks.
        let stillOwner: @Sendable () throws -> Void = {
            if consumer.isAssignmentLost {
                throw ServiceError(.partitionFenced, "this member lost its partitions (session or poll interval timed out); batch rolled back")
            }
        }
        var attempt = 0
        while true {
            do {
                try await r.writer.write(batch, beforeCommit: stillOwner)
                if attempt > 0 { r.telemetry.databaseRecovered() }
                return true
            } catch let error as ServiceError where error.code == .partitionFenced {
                if attempt > 0 { r.telemetry.databaseRecovered() }
                return false
            } catch where DatabaseFaults.isTransient(error) {
                attempt += 1
                let wait = r.configuration.databaseRetry.wait(afterAttempt: attempt, unit: Double.random(in: 0..<1))
                r.telemetry.databaseRetry()
                r.log.warning("database unavailable; retrying the batch", ["attempt": .int(Int64(attempt)), "wait_ms": .int(Int64(wait.seconds * 1000)),
                                                                          "error": .string("\(error)")])
                guard await r.pause(wait) else { throw error }
                guard !batch.offsets.isEmpty else { continue }  // nothing to resolve: the rest is idempotent
                let stored: [KafkaTopicPartition: Int64]
                do { stored = try await storedOffsets(batch.offsets.map(\.partition)) } catch where DatabaseFaults.isTransient(error) { continue }
                let outcome = CommitResolution.resolve(batch.offsets, stored: stored)
                r.telemetry.commitResolved(outcome)
                r.log.warning("batch outcome read back from the stored offsets", ["outcome": .string(outcome.rawValue),
                                                                                  "partitions": .int(Int64(batch.offsets.count))])
                switch outcome {
                case .committed:
                    r.telemetry.databaseRecovered()
                    return true
                case .notCommitted:
                    continue
                case .moved:
                    r.telemetry.databaseRecovered()
                    return false
                }
            }
        }
    }

    /// `consumer_offsets.next_offset` of `partitions` for this group (absent: no row).
    func storedOffsets(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        let statements = VigilSchema(configuration.schema), group = configuration.groupID
        let wanted = Set(partitions)
        return try await connection.withSession { try statements.storedOffsets(group: group, on: $0) }.filter { wanted.contains($0.key) }
    }
}
