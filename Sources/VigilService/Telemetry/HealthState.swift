// What /healthz and /readyz answer, as plain state and verdicts (no I/O, no clock reads), so
// the rules are unit-tested on their own.

/// The pipeline's last reported condition.
public struct HealthState: Sendable, Equatable {
    /// When the batch loop last completed an iteration; nil before the loop started.
    public var lastLoopAt: ContinuousClock.Instant?
    /// A model set is loaded (false during a cold start's accumulation).
    public var modelsLoaded = false
    /// Partitions this member owns in the consumer group.
    public var ownedPartitions = 0
    /// The last database operation (connect, batch write) succeeded.
    public var databaseReachable = false
    /// The service is draining after SIGTERM or its stop condition.
    public var stopping = false
    /// The live version in the registry cannot be used (it stays unadopted; scoring goes on
    /// with the version named here): why.
    public var modelProblem: String?
    /// Partitions halted by an offset anomaly, with the reason.
    public var haltedPartitions: [String] = []
    /// The database connection is being re-established (retrying a batch in-process).
    public var databaseRetrying = false

    public init() {}

    /// A verdict with the reasons it failed, for the response body.
    public struct Verdict: Sendable, Equatable {
        public var ok: Bool { problems.isEmpty }
        public var problems: [String]
        public var body: String { ok ? "ok\n" : problems.joined(separator: "\n") + "\n" }
    }

    /// Alive: the loop has started and completed an iteration within `stallLimit` of `now`.
    public func liveness(now: ContinuousClock.Instant, stallLimit: Duration) -> Verdict {
        guard let lastLoopAt else { return Verdict(problems: ["the batch loop has not started"]) }
        let since = now - lastLoopAt
        guard since <= stallLimit else {
            return Verdict(problems: ["the batch loop has not completed an iteration for \(since) (limit \(stallLimit))"])
        }
        return Verdict(problems: [])
    }

    /// Ready: alive, models loaded, partitions owned, the database reachable, not stopping.
    public func readiness(now: ContinuousClock.Instant, stallLimit: Duration) -> Verdict {
        var problems = liveness(now: now, stallLimit: stallLimit).problems
        if !modelsLoaded { problems.append("no model set loaded yet (cold start)") }
        if ownedPartitions == 0 { problems.append("no partitions assigned by the consumer group") }
        if !databaseReachable { problems.append("the database was not reachable at the last batch") }
        if databaseRetrying { problems.append("the database is unreachable: retrying the current batch") }
        if let modelProblem { problems.append("degraded: \(modelProblem)") }
        problems += haltedPartitions.map { "halted: \($0)" }
        if stopping { problems.append("stopping") }
        return Verdict(problems: problems)
    }
}
