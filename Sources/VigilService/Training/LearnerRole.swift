// Whether this instance is the group's learner, decided by the lease in PostgreSQL
// (LearnerLeaseStore). The lease is claimed every third of its TTL; the answer (a token, none,
// or a failed claim) moves this machine, and the action it returns starts or ends a tenure
// as the learner. Free of I/O: the caller passes the clock readings in.

/// The learner role of one instance. A tenure is identified by its fencing token: a new token
/// is a new tenure that starts again from the live model, because another member held the
/// role in between.
struct LearnerRole {
    enum State: Equatable {
        case follower
        case learner(token: Int64, renewedAt: ContinuousClock.Instant)
        case stopped
    }

    enum Action: Equatable {
        case none
        /// Start learning from the live model and the training topic's stored positions.
        case startLearning(token: Int64)
        /// Stop learning; nothing learnt since the last publication may be published.
        case stopLearning(token: Int64, reason: String)
        /// Both: the lease was lost and taken again under a new token.
        case restartLearning(old: Int64, new: Int64)
    }

    let ttl: Duration
    private(set) var state = State.follower
    /// Tenures started by this instance.
    private(set) var tenures = 0

    init(ttl: Duration) {
        self.ttl = ttl
    }

    var token: Int64? {
        if case .learner(let token, _) = state { return token }
        return nil
    }

    /// The claim answered: `token` while this instance holds the lease, nil while another does.
    mutating func claimed(_ granted: Int64?, at now: ContinuousClock.Instant) -> Action {
        switch (state, granted) {
        case (.stopped, _):
            return .none
        case (.follower, nil):
            return .none
        case (.follower, let token?):
            state = .learner(token: token, renewedAt: now)
            tenures += 1
            return .startLearning(token: token)
        case (.learner(let held, _), nil):
            state = .follower
            return .stopLearning(token: held, reason: "another member holds the learner lease")
        case (.learner(let held, _), let token?) where token == held:
            state = .learner(token: held, renewedAt: now)
            return .none
        case (.learner(let held, _), let token?):
            state = .learner(token: token, renewedAt: now)
            tenures += 1
            return .restartLearning(old: held, new: token)
        }
    }

    /// The claim could not be made (database unreachable). A learner that has not renewed
    /// within the TTL has lost the lease for all it knows: it stops, its publications would
    /// be refused anyway.
    mutating func claimFailed(at now: ContinuousClock.Instant) -> Action {
        guard case .learner(let held, let renewed) = state, now - renewed >= ttl else { return .none }
        state = .follower
        return .stopLearning(token: held, reason: "the learner lease could not be renewed within its ttl")
    }

    /// A publication under `token` was refused by the database: another member took the role.
    mutating func fenced(_ token: Int64) -> Action {
        guard case .learner(let held, _) = state, held == token else { return .none }
        state = .follower
        return .stopLearning(token: held, reason: "a publication was fenced: the lease passed to another member")
    }

    /// The service stops: a learner stops learning (and gives the lease up).
    mutating func stop() -> Action {
        defer { state = .stopped }
        if case .learner(let held, _) = state { return .stopLearning(token: held, reason: "the service stops") }
        return .none
    }
}
