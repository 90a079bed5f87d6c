// The batch loop of `vigil serve`, a Service: load (or cold-start) the models, subscribe, then
// poll a batch -> decode and decide -> write it in one transaction, until stopped, idle or at
// the event limit; then leave the group (revocation snapshots the state).
//
// Faults it rides out instead of exiting:
// - the database going away (connection loss, failover, 57P0x, timeouts): the batch is
//   retried in-process with capped, jittered backoff; an unknown COMMIT outcome is resolved
//   from the stored offsets before anything is retried (CommitResolution);
// - offset anomalies (OffsetContinuity): logged, counted, recorded, and the partition halted
//   or skipped past as configured;
// - a model version it cannot use (at start it falls back to the newest usable version that
//   was live before; while serving ModelFollower keeps the current one).
import Foundation
import ServiceLifecycle
import Synchronization
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilML
import VigilPostgres

final class BatchLoop: Service, Sendable {
    let runtime: PipelineRuntime
    /// What the run did, read by FraudPipeline once the group has finished.
    let result = Mutex(PipelineSummary())

    init(runtime: PipelineRuntime) {
        self.runtime = runtime
    }

    var summary: PipelineSummary { result.withLock { $0 } }

    func run() async throws {
        let r = runtime
        var state = LoopState()
        var failure: (any Error)?
        do {
            try await serve(&state)
            r.scoring?.close("serve is stopping")
            if let at = try await settle(await r.handOver.drain(), summary: &state.summary), let first = state.firstMessageAt {
                state.summary.activeSeconds = (at - first).seconds
            }
        } catch {
            failure = error
            r.scoring?.close("serve stopped on an error")
            for f in await r.handOver.drain() {
                if case .committed = f.outcome { continue }
                r.scoring?.answerNotCommitted(f.write.scoring, log: r.log)
            }
        }
        // From here on every part of this process sees the stop (rebalance callbacks too).
        r.stop.stop()
        r.telemetry.stopping()
        state.summary.modelVersion = state.decider?.scorer.registry.currentVersion ?? 0
        state.summary.peakCards = state.peakCards
        result.withLock { $0 = state.summary }
        await r.gate.close()  // no lag query may race the close below
        // Leaving the group revokes the partitions, which snapshots their state.
        do { try await r.consumer.close() } catch { r.log.warning("consumer close failed", ["error": .string("\(error)")]) }
        if let failure {
            r.log.error("stopped on an error; nothing uncommitted was kept", ["error": .string("\(failure)")])
            throw failure
        }
        let s = state.summary
        r.log.info("stopped", ["decided": .int(Int64(s.decided)), "dead_lettered": .int(Int64(s.deadLettered)),
                               "alerts": .int(Int64(s.alerts)), "batches": .int(Int64(s.batches)),
                               "fenced_batches": .int(Int64(s.fencedBatches)), "model_version": .int(s.modelVersion)])
    }

    /// The loop's own state: nothing here is shared with other services.
    struct LoopState {
        var summary = PipelineSummary()
        var decider: BatchDecider?
        /// Valid events held for the first model while the registry is empty (decoded once;
        /// the messages themselves are read again after the cold start).
        var coldStart: [TransactionEvent] = []
        var peakCards = 0
        /// When the first message arrived (throughput figures run from here to the last commit).
        var firstMessageAt: ContinuousClock.Instant?
    }

    private func serve(_ state: inout LoopState) async throws {
        let r = runtime, c = r.configuration
        let decoder = EventDecoder()
        state.decider = try await startupModels(decoder: decoder)
        if state.decider == nil {
            r.log.info("the model registry is empty: the first model set will be trained on early traffic",
                       ["events": .int(Int64(c.coldStartEvents))])
        }
        guard !r.isStopping else { return }
        try r.consumer.subscribe(topics: [c.topic] + (c.labelsTopic.map { [$0] } ?? []))
        r.log.info("serving", ["topic": .string(c.topic), "group": .string(c.groupID), "schema": .string(c.schema),
                               "member": .string(c.memberName), "blas_kernel": .string(BLAS.coreName),
                               "offset_anomaly_policy": .string(c.offsetAnomalyPolicy.rawValue),
                               "cards_per_partition": .int(Int64(r.budget.share.maxCards))])

        var idleSince = ContinuousClock.now
        var seenRebalances = r.rebalances.count
        var firstMessageAt: ContinuousClock.Instant?
        var progressAt = ContinuousClock.now
        var progressDecided = 0
        var registryCheckedAt = ContinuousClock.now

        while !r.isStopping {
            r.telemetry.loopIteration(modelsLoaded: state.decider != nil, ownedPartitions: r.ownership.owned.count)
            try await checkLogEnds()
            let decided = state.summary.decided + state.summary.deadLettered
            if let max = c.maxEvents, decided >= max { break }
            let limit = c.maxEvents.map { min(c.batchSize, $0 - decided) } ?? c.batchSize
            // Scoring requests waiting: take what Kafka has without waiting for more (an
            // admission wakes a waiting poll too: ScoringQueue.onAdmission).
            let requestsWaiting = r.scoring?.hasWaiting ?? false
            let messages = try await r.consumer.pollAvailable(maxMessages: Swift.max(1, limit), timeout: requestsWaiting ? .zero : c.batchWait)
            let requests = r.scoring?.take(max: c.api.batchSize) ?? []
            if c.recordLatencies, !messages.isEmpty {
                let polledAt = Date().timeIntervalSince1970 * 1000
                for m in messages { if let t = m.timestampMilliseconds { state.summary.deliveryMilliseconds.append(polledAt - Double(t)) } }
            }
            if r.rebalances.count != seenRebalances { seenRebalances = r.rebalances.count; idleSince = .now }
            if messages.isEmpty && requests.isEmpty {
                // Until the first assignment, a slow group join is not idleness.
                if let idle = c.exitWhenIdle,
                   ContinuousClock.now - idleSince >= (r.rebalances.count == 0 ? Swift.max(idle, c.groupJoinGrace) : idle) {
                    if state.decider == nil && !state.coldStart.isEmpty {
                        state.decider = try await finishColdStart(state.coldStart, decoder: decoder, minimum: 64)
                        state.coldStart = []
                        idleSince = .now
                        continue
                    }
                    r.log.info("idle: stopping", ["idle_ms": .int(Int64(idle.components.seconds * 1000))])
                    break
                }
                if state.decider == nil, ContinuousClock.now - registryCheckedAt >= c.modelPollInterval {
                    registryCheckedAt = .now
                    state.decider = try await adoptOthersColdStart(decoder: decoder)
                }
                continue
            }
            idleSince = .now
            if firstMessageAt == nil, !messages.isEmpty { firstMessageAt = .now; state.firstMessageAt = firstMessageAt }
            guard let decider = state.decider else {
                r.scoring?.refuse(requests, Self.unavailable("not_ready", "no model set is loaded yet (cold start)",
                                                             retryAfter: c.api.retryAfterSeconds))
                // Cold start: keep only the valid events (at most cold_start_events); every
                // message is read again from the stored offsets once the first model exists.
                for message in messages {
                    r.continuity.delivered(message.topicPartition, through: message.offset)
                    guard message.topic == c.topic, state.coldStart.count < c.coldStartEvents,
                          case .success(let event) = decoder.decodeTransaction(message) else { continue }
                    state.coldStart.append(event)
                }
                if state.coldStart.count >= c.coldStartEvents {
                    state.decider = try await finishColdStart(state.coldStart, decoder: decoder, minimum: c.coldStartEvents)
                    state.coldStart = []
                } else if ContinuousClock.now - registryCheckedAt >= c.modelPollInterval {
                    registryCheckedAt = .now
                    state.decider = try await adoptOthersColdStart(decoder: decoder)
                    if state.decider != nil { state.coldStart = [] }
                }
                continue
            }
            decider.trainer = r.models.trainer
            try await process(messages, requests: requests, decider: decider, summary: &state.summary)
            let sizes = r.ownership.stateSizes
            state.peakCards = Swift.max(state.peakCards, sizes.cards)
            r.telemetry.entityCounts(cards: sizes.cards, merchants: sizes.merchants, terminals: sizes.terminals)
            if let firstMessageAt { state.summary.activeSeconds = (ContinuousClock.now - firstMessageAt).seconds }
            if ContinuousClock.now - progressAt >= c.progressInterval {
                let s = state.summary
                let rate = Double(s.decided - progressDecided) / (ContinuousClock.now - progressAt).seconds
                r.log.info("progress", ["decided": .int(Int64(s.decided)), "dead_lettered": .int(Int64(s.deadLettered)),
                                        "alerts": .int(Int64(s.alerts)), "events_per_s": .int(Int64(rate.rounded())),
                                        "partitions": .int(Int64(r.ownership.owned.count)), "cards": .int(Int64(sizes.cards)),
                                        "model_version": .int(decider.scorer.registry.currentVersion)])
                progressAt = .now
                progressDecided = s.decided
            }
        }
    }

    // MARK: Batches

    /// Decides a batch and writes it in one transaction. A fenced batch is dropped and its
    /// partitions restored from the database (the next rebalance will take them away).
    func process(_ messages: [KafkaMessage], requests: [ScoreTicket] = [], decider: BatchDecider, summary: inout PipelineSummary) async throws {
        let r = runtime, c = r.configuration
        var groups = BatchDecider.byPartition(messages).filter { !r.continuity.isHalted($0.0) }
        var scoring = await route(requests)
        let streamPartitions = Set(groups.map(\.0))
        var leases = r.ownership.checkOut(groups.map(\.0) + scoring.routed.keys.filter { !streamPartitions.contains($0) }.sorted())
        admitRouted(&scoring, leases: leases)
        // API answers carry decided_at as stored: whole microseconds.
        let decidedAtMicros = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        var batch = AuditBatch(decidedAt: Date(timeIntervalSince1970: Double(decidedAtMicros) / 1_000_000))
        var halting: [(partition: KafkaTopicPartition, reason: String)] = []
        for (i, (partition, group)) in groups.enumerated() {
            if let last = group.last { r.continuity.delivered(partition, through: last.offset) }
            guard let lease = leases[partition],
                  let jump = OffsetContinuityRules.undecidedJump(offsets: group.lazy.map(\.offset), position: lease.position,
                                                                  committedNext: lease.committedNext) else { continue }
            let first = group[group.startIndex + jump.index].offset
            let logStart = await logStart(of: partition)
            guard logStart.map({ OffsetContinuityRules.isRetentionGap(expected: jump.expected, logStart: $0) }) ?? true else {
                r.log.debug("offsets skipped inside the log (transaction markers or compaction)",
                            ["partition": .string(partition.description), "expected": .int(jump.expected), "delivered": .int(first)])
                continue
            }
            let anomaly = AuditBatch.OffsetAnomaly(partition: partition, kind: .retentionGap, storedOffset: jump.expected,
                                                   logOffset: logStart ?? first, action: c.offsetAnomalyPolicy)
            batch.offsetAnomalies.append(anomaly)
            r.telemetry.offsetAnomaly(.retentionGap)
            let reason = "retention gap: stored offset \(jump.expected), the log now starts at \(anomaly.logOffset)"
            r.log.error("offset gap: messages past the stored offset were removed from the log before they were decided",
                        ["partition": .string(partition.description), "stored_offset": .int(jump.expected),
                         "log_start": .int(anomaly.logOffset), "first_delivered": .int(first), "action": .string(c.offsetAnomalyPolicy.rawValue)])
            if c.offsetAnomalyPolicy == .halt {
                groups[i].1 = group.prefix(jump.index)
                halting.append((partition, reason))
            }
        }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            for (partition, group) in groups {
                guard var lease = leases[partition] else { continue }  // not ours any more
                if partition.topic == c.labelsTopic {
                    decider.record(labels: group, lease: &lease, into: &batch)
                } else {
                    try decider.decide(group, lease: &lease, into: &batch)
                }
                leases[partition] = lease
            }
            // API requests after the partition's stream events of this batch: the same order
            // as if they had arrived on the partition right after them.
            for (partition, tickets) in scoring.routed.sorted(by: { $0.key < $1.key }) {
                guard var lease = leases[partition] else { continue }
                let bodies = try decider.decide(requests: tickets, lease: &lease, decidedAtMicros: decidedAtMicros, into: &batch)
                leases[partition] = lease
                scoring.answers += zip(tickets, bodies).map { ($0, $1) }
            }
        } catch {
            _ = r.ownership.checkIn(Array(leases.values), committed: false)
            r.telemetry.batchFailed()
            r.scoring?.refuse(scoring.routed.values.flatMap { $0 }, .refused(status: 500, code: "internal_error", message: "\(error)", retryAfter: nil))
            throw error
        }
        // The next batch is decided from these leases while this one is written; if the
        // write is not committed, settle() takes them back.
        let held = Array(leases.values)
        _ = r.ownership.checkIn(held, committed: true)
        summary.count(batch)
        if !scoring.answers.isEmpty {
            let now = clock.now
            scoring.decidedAt = now
            for (ticket, _) in scoring.answers { r.telemetry.scoring.score.record(now - ticket.admittedAt) }
            answerDecided(scoring)
        }
        let finished = await r.handOver.submit(PendingWrite(batch: batch, messages: messages, leases: held.map { ($0.partition, $0.generation) },
                                                            started: started, decided: clock.now, halting: halting, scoring: scoring))
        try await settle(finished, summary: &summary)
    }
}
