// API requests into the batch: scored by the same scorer, policy and rules in force, with the feature state of
// the card's partition (which they update, like a streamed event of that partition), and
// written as decisions of the partition's API source (Scoring/ScoringSource.swift).
import VigilEngine
import VigilFeatures
import VigilKafka

extension BatchDecider {
    /// Decides `tickets` (all of `lease`'s partition) into `batch` as the next offsets of the
    /// partition's API source, and returns each one's answer body (`decidedAtMicros` is the
    /// batch's `decided_at`, as stored).
    func decide(requests tickets: [ScoreTicket], lease: inout PartitionOwnership.StateMachine.Lease, decidedAtMicros: Int64,
                into batch: inout AuditBatch) throws -> [[UInt8]] {
        guard !tickets.isEmpty else { return [] }
        let source = ScoringSource.partition(of: lease.partition)
        events.removeAll(keepingCapacity: true)
        for ticket in tickets { events.append(ticket.event) }
        try scorer.score(events, extractor: &lease.extractor, into: &scored)
        trainer?.observe(scored, events: events[...])
        let first = lease.apiCommittedNext ?? 0
        var bodies: [[UInt8]] = []
        bodies.reserveCapacity(tickets.count)
        // The analysts' rules in force, as for the partition's streamed events.
        let ruleSet = rules.book.current
        var tally = RuleTally(for: ruleSet)
        decisions.removeAll(keepingCapacity: true)
        policy.decide(events[...], in: scored, rules: ruleSet, tally: &tally, into: &decisions)
        rules.record(tally, of: ruleSet)
        for (i, decision) in decisions.enumerated() {
            let offset = first + Int64(i)
            let keeps = retention.keeps(decision.outcome, partition: source.partition, offset: offset)
            batch.decisions.append(AuditBatch.DecidedEvent(partition: source, offset: offset, recordTimestampMillis: tickets[i].arrivalMillis,
                                                           decision: decision, features: keeps ? Array(scored.featureRow(i)) : []))
            bodies.append(ScoredDecision(decision, decidedAtMicros: decidedAtMicros).body)
        }
        let next = first + Int64(events.count)
        batch.offsets.append(AuditBatch.OffsetAdvance(partition: source, expected: lease.apiCommittedNext, next: next))
        lease.apiCommittedNext = next
        lease.eventsSinceSnapshot += events.count
        return bodies
    }
}
