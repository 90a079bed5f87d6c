// The batch loop's checks of stored offsets against the log: a jump past the stored offset
// that the log no longer holds (retention gap), a stored offset past the log end, and
// halting a partition when the policy says so (OffsetContinuity holds the rules).
import VigilKafka

extension BatchLoop {
    /// The log's first offset, asked up to three times; nil when the broker does not answer
    /// (the jump is then taken as a gap: it skipped offsets past the stored one).
    func logStart(of partition: KafkaTopicPartition) async -> Int64? {
        for attempt in 0..<3 {
            if let w = try? await runtime.consumer.watermarks(partition, timeout: .seconds(2)) { return w.low }
            if attempt < 2 { await runtime.pause(.milliseconds(500)) }
        }
        return nil
    }

    /// Partitions not yet seen to reach their stored offset: compared with the log end once
    /// their grace has passed; twice short is a stored offset past the log end.
    func checkLogEnds() async throws {
        let r = runtime, c = r.configuration
        for (partition, committed) in r.continuity.due() {
            guard let w = try? await r.consumer.watermarks(partition, timeout: .seconds(2)) else { continue }
            guard case .pastLogEnd(_, let end) = r.continuity.observed(partition, logEnd: w.high) else { continue }
            r.telemetry.offsetAnomaly(.pastLogEnd)
            r.log.error("stored offset past the log end: the topic was re-created or truncated",
                        ["partition": .string(partition.description), "stored_offset": .int(committed), "log_end": .int(end),
                         "action": .string(c.offsetAnomalyPolicy.rawValue)])
            var batch = AuditBatch()
            batch.offsetAnomalies.append(AuditBatch.OffsetAnomaly(partition: partition, kind: .pastLogEnd, storedOffset: committed,
                                                                  logOffset: end, action: c.offsetAnomalyPolicy))
            _ = try await r.commit(batch)
            if c.offsetAnomalyPolicy == .halt {
                try await halt(partition, reason: "stored offset \(committed) is past the log end \(end)")
            }
        }
    }

    func halt(_ partition: KafkaTopicPartition, reason: String) async throws {
        let r = runtime
        r.continuity.halt(partition, reason: reason)
        try await r.consumer.pause([partition])
        r.telemetry.partitionsHalted(r.continuity.halted)
        r.log.error("partition halted: it is no longer consumed until an operator acts (see docs/serve.md, Offset anomalies)",
                    ["partition": .string(partition.description), "reason": .string(reason)])
    }
}
