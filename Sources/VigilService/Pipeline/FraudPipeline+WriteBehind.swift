// The batch loop's side of write-behind (AuditHandOver): accounting for the batches the writer
// finished, and taking back the partitions of a batch that was not committed.
import Foundation
import VigilKafka

extension PipelineSummary {
    /// Counts a batch's rows in (`sign` 1) or back out (-1, a write that was not committed).
    mutating func count(_ batch: AuditBatch, sign: Int = 1) {
        decided += sign * batch.decisions.count
        deadLettered += sign * batch.deadLetters.count
        labels += sign * batch.labels.count
        alerts += sign * batch.decisions.reduce(0) { $0 + ($1.decision.outcome.raisesAlert ? 1 : 0) }
    }
}

extension FraudPipeline {
    /// Accounts for the batches the writer finished: committed ones in the summary; fenced or
    /// dropped ones by restoring their partitions from the database and seeking there; a
    /// database failure stops the service. Returns the last commit's time.
    @discardableResult
    func settle(_ finished: [FinishedWrite], consumer: KafkaConsumer, ownership: PartitionOwnership, restorer: PartitionRestorer,
                summary: inout PipelineSummary) async throws -> ContinuousClock.Instant? {
        var lastCommit: ContinuousClock.Instant?
        for f in finished {
            guard case .committed(let at, let wallClock, let transaction) = f.outcome else {
                summary.count(f.write.batch, sign: -1)
                let restore = ownership.writeFailed(f.write.leases)
                let partitions = ["partitions": LogValue.string(restore.map(\.description).joined(separator: ","))]
                switch f.outcome {
                case .failed(let error):
                    telemetry.batchFailed()
                    log.warning("batch failed; rolled back", partitions.merging(["error": .string("\(error)")]) { a, _ in a })
                    throw error
                case .fenced(let error):
                    log.warning("batch fenced: another member owns a partition; batch dropped", partitions.merging(["error": .string("\(error)")]) { a, _ in a })
                default:
                    log.warning("batch dropped: the batch before it was not committed", partitions)
                }
                summary.fencedBatches += 1
                telemetry.batchFenced(consumed: f.write.messages.count)
                for partition in restore {
                    let start = ownership.assigned(partition, try await restorer.restore(partition))
                    try await consumer.seek(partition, to: start)
                }
                continue
            }
            lastCommit = at
            if configuration.recordLatencies {
                let committedAt = wallClock.timeIntervalSince1970 * 1000
                for message in f.write.messages {
                    if let t = message.timestampMilliseconds { summary.latenciesMilliseconds.append(committedAt - Double(t)) }
                }
            }
            summary.decideSeconds += (f.write.decided - f.write.started).seconds
            summary.writeSeconds += transaction.seconds
            summary.batches += 1
        }
        return lastCommit
    }
}
