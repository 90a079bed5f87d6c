// The batch loop's side of write-behind (AuditHandOver): accounting for the batches the writer
// finished, halting partitions whose anomaly a batch recorded once it is stored, and taking
// back the partitions of a batch that was not committed.
import Foundation
import VigilKafka

extension PipelineSummary {
    /// Counts a batch's rows in (`sign` 1) or back out (-1, a write that was not committed).
    mutating func count(_ batch: AuditBatch, sign: Int = 1) {
        decided += sign * batch.decisions.count
        deadLettered += sign * batch.deadLetters.count
        labels += sign * batch.labels.count
        alerts += sign * batch.decisions.reduce(0) { $0 + ($1.decision.outcome.raisesAlert ? 1 : 0) }
        offsetAnomalies += sign * batch.offsetAnomalies.count
    }
}

extension BatchLoop {
    /// Accounts for the batches the writer finished: committed ones in the summary (and the
    /// partitions they recorded a halting anomaly for are halted); fenced or dropped ones by
    /// restoring their partitions from the database and seeking there. A write that failed
    /// for good (not a transient fault: those the commit rides out) stops the loop. Returns
    /// the last commit's time.
    @discardableResult
    func settle(_ finished: [FinishedWrite], summary: inout PipelineSummary) async throws -> ContinuousClock.Instant? {
        let r = runtime
        var lastCommit: ContinuousClock.Instant?
        for f in finished {
            guard case .committed(let at, let wallClock, let transaction) = f.outcome else {
                r.scoring?.answerNotCommitted(f.write.scoring, log: r.log)
                summary.count(f.write.batch, sign: -1)
                let restore = r.ownership.writeFailed(f.write.leases)
                let partitions = ["partitions": LogValue.string(restore.map(\.description).joined(separator: ","))]
                switch f.outcome {
                case .failed(let error):
                    r.telemetry.batchFailed()
                    r.log.warning("batch failed; rolled back", partitions.merging(["error": .string("\(error)")]) { a, _ in a })
                    throw error
                case .fenced(let error):
                    r.log.warning("batch fenced: another member owns a partition; batch dropped",
                                  partitions.merging(["error": .string("\(error)")]) { a, _ in a })
                default:
                    r.log.warning("batch dropped: the batch before it was not committed", partitions)
                }
                summary.fencedBatches += 1
                r.telemetry.batchFenced(consumed: f.write.messages.count)
                for partition in restore { try await restoreAndSeek(partition) }
                continue
            }
            lastCommit = at
            for (partition, reason) in f.write.halting { try await halt(partition, reason: reason) }
            if r.configuration.recordLatencies {
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
