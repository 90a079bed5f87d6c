// The batch loop's side of synchronous scoring: the requests it took from the ScoringQueue
// are answered from the audit trail when their event id was decided before, refused when this
// member cannot score them now (their card's partition is not owned here, is halted, or its
// state is still being rebuilt), and otherwise decided into the loop's next transaction, each
// with the feature state of its card's partition. Answers leave at commit (durable) or at
// decision time (relaxed).
import Foundation
import VigilKafka

/// The requests of one batch, with their answers once decided.
struct ScoringWork: Sendable {
    /// Requests to decide, by the transactions-topic partition holding their card's state.
    var routed: [KafkaTopicPartition: [ScoreTicket]] = [:]
    /// Decided requests and their answer bodies, answered at commit (durable) or at once (relaxed).
    var answers: [(ticket: ScoreTicket, body: [UInt8])] = []
    /// When deciding them ended (commit-wait metric).
    var decidedAt: ContinuousClock.Instant?
}

extension BatchLoop {
    static func unavailable(_ code: String, _ message: String, retryAfter: Int) -> ScoreAnswer {
        .refused(status: 503, code: code, message: message, retryAfter: retryAfter)
    }

    /// Answers repeated event ids from the audit trail and routes the rest to their card's
    /// partition. When the trail cannot be read, every request is refused (503): deciding
    /// without the lookup could decide an event id twice.
    func route(_ tickets: [ScoreTicket]) async -> ScoringWork {
        var work = ScoringWork()
        guard let queue = runtime.scoring, let stored = runtime.storedDecisions, !tickets.isEmpty else { return work }
        let c = runtime.configuration
        let found: [String: ScoredDecision]
        do {
            found = try await stored.find(tickets.map(\.event.eventID))
        } catch {
            runtime.log.warning("the audit trail could not be read for scoring requests; refused", ["error": .string("\(error)"),
                                                                                                    "requests": .int(Int64(tickets.count))])
            queue.refuse(tickets, Self.unavailable("database_unavailable", "the audit trail cannot be read right now",
                                                   retryAfter: c.api.retryAfterSeconds))
            return work
        }
        let partitioner = CardPartitioner(c.api.partitioner)
        let count = runtime.budget.topicPartitionCount
        var repeated: [ScoreTicket] = []
        for ticket in tickets {
            if let decision = found[ticket.event.eventID] {
                ticket.resolve(.decided(body: decision.body, repeated: true))
                repeated.append(ticket)
                continue
            }
            let partition = KafkaTopicPartition(topic: c.topic, partition: partitioner.partition(of: ticket.event.cardID.utf8, count: count))
            work.routed[partition, default: []].append(ticket)
        }
        queue.finish(repeated)
        return work
    }

    /// Refuses the routed requests whose partition this member cannot score with now; the rest
    /// stay routed. `leases` are the partitions checked out for the batch.
    func admitRouted(_ work: inout ScoringWork, leases: [KafkaTopicPartition: PartitionOwnership.StateMachine.Lease]) {
        guard let queue = runtime.scoring else { return }
        let retry = runtime.configuration.api.retryAfterSeconds
        for (partition, tickets) in work.routed {
            let refusal: ScoreAnswer?
            if runtime.continuity.isHalted(partition) {
                refusal = Self.unavailable("partition_halted", "partition \(partition) is halted after an offset anomaly", retryAfter: retry)
            } else if let lease = leases[partition] {
                // Until the state has replayed the events below the stored offset, a card's
                // features would miss part of its history.
                refusal = (lease.position ?? 0) < lease.replayUntil
                    ? Self.unavailable("state_rebuilding", "the state of partition \(partition) is being rebuilt", retryAfter: retry) : nil
            } else {
                refusal = Self.unavailable("not_owner", "the card's partition \(partition) is not owned by this member", retryAfter: retry)
            }
            if let refusal {
                queue.refuse(tickets, refusal)
                work.routed[partition] = nil
            }
        }
    }

    /// Relaxed commit: the answers leave now, before the transaction; durable: at its commit
    /// (`answerCommitted`).
    func answerDecided(_ work: ScoringWork) {
        guard let queue = runtime.scoring, queue.configuration.commit == .relaxed else { return }
        for (ticket, body) in work.answers { ticket.resolve(.decided(body: body, repeated: false)) }
    }
}

extension ScoringQueue {
    /// A write holding `work` committed: durable answers leave now, and every request of the
    /// write is finished.
    func answerCommitted(_ work: ScoringWork) {
        guard !work.answers.isEmpty else { return }
        let now = ContinuousClock.now
        if configuration.commit == .durable {
            for (ticket, body) in work.answers { ticket.resolve(.decided(body: body, repeated: false)) }
            if let decided = work.decidedAt {
                for _ in work.answers { metrics.commitWait.record(now - decided) }
            }
        }
        finish(work.answers.map(\.ticket))
    }

    /// A write holding `work` was not committed (fenced, dropped after a failed predecessor,
    /// or failed): durable requests are refused (a retry decides them again); relaxed ones
    /// were already answered, and their decisions are not in the audit trail.
    func answerNotCommitted(_ work: ScoringWork, log: ServiceLog) {
        guard !work.answers.isEmpty else { return }
        if configuration.commit == .relaxed {
            log.error("answered decisions were not committed (relaxed commit)",
                      ["event_ids": .string(work.answers.prefix(20).map(\.ticket.event.eventID).joined(separator: ",")),
                       "requests": .int(Int64(work.answers.count))])
        }
        refuse(work.answers.map(\.ticket), .refused(status: 503, code: "not_committed",
                                                    message: "the decision's transaction was not committed; retry with the same event_id",
                                                    retryAfter: configuration.retryAfterSeconds))
    }
}
