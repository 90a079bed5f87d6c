// The bounded hand-over between the scoring endpoint and the batch loop. The endpoint admits
// a decoded event (or refuses it: 429 when `max_in_flight` requests are already waiting, 503
// once serving stops) and waits on its ticket; the batch loop takes the waiting tickets into
// its next transaction and answers them. An event id is claimed by the first request carrying
// it until that request's write has finished, and a concurrent request with the same id waits
// on the first one's ticket: one decision, one row, the same bytes for both.
import Synchronization
import VigilFeatures

/// One admitted event waiting for its answer.
final class ScoreTicket: Sendable {
    let event: TransactionEvent
    /// Wall-clock milliseconds at admission: the API row's `kafka_timestamp` (its partition key).
    let arrivalMillis: Int64
    let admittedAt: ContinuousClock.Instant

    private struct State {
        var answer: ScoreAnswer?
        var waiters: [Int: CheckedContinuation<ScoreAnswer?, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    init(event: TransactionEvent, arrivalMillis: Int64, admittedAt: ContinuousClock.Instant = .now) {
        self.event = event
        self.arrivalMillis = arrivalMillis
        self.admittedAt = admittedAt
    }

    var answer: ScoreAnswer? { state.withLock { $0.answer } }

    /// Sets the answer (the first one wins) and wakes every waiter. False when it was set before.
    @discardableResult
    func resolve(_ answer: ScoreAnswer) -> Bool {
        let waiters = state.withLock { s -> [CheckedContinuation<ScoreAnswer?, Never>]? in
            guard s.answer == nil else { return nil }
            s.answer = answer
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: answer) }
        return true
    }

    /// The answer, or nil when none came within `timeout`.
    func wait(timeout: Duration) async -> ScoreAnswer? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { s -> ScoreAnswer?? in
                if let answer = s.answer { return .some(answer) }
                let id = s.nextWaiter
                s.nextWaiter += 1
                s.waiters[id] = continuation
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    let expired = state.withLock { $0.waiters.removeValue(forKey: id) }
                    expired?.resume(returning: nil)
                }
                return .none
            }
            if case .some(let answer) = ready { continuation.resume(returning: answer) }
        }
    }
}

/// Admission, the waiting line and the event-id claims, behind one lock.
public final class ScoringQueue: Sendable {
    public let configuration: ScoringConfiguration
    let metrics: ScoringMetrics

    enum Admission {
        /// Waiting for the batch loop.
        case admitted(ScoreTicket)
        /// Another request with this event id is being decided: answer with its answer.
        case following(ScoreTicket)
        case refused(ScoreAnswer)
    }

    private struct State {
        var waiting: [ScoreTicket] = []
        /// Admitted and not finished (waiting, being decided, or in a write).
        var inFlight = 0
        var claims: [String: ScoreTicket] = [:]
        /// Set once serving stops: every later request is refused with this message.
        var closed: String?
    }
    private let state = Mutex(State())
    /// The wake-up hook. A closure kept in a Mutex directly is re-abstracted by every
    /// `withLock` that reads it, and the thunks pile up (one per admission); a class
    /// reference is read as it is.
    private final class WakeHook: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    private let wake = Mutex<WakeHook?>(nil)
    /// The port the endpoint listens on, once it does (the configured one, or the one the
    /// system chose for port 0).
    private let port = Mutex<Int?>(nil)

    init(configuration: ScoringConfiguration, metrics: ScoringMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Called after each admission so a batch loop waiting on Kafka takes the request now.
    func onAdmission(_ body: @escaping @Sendable () -> Void) {
        let hook = WakeHook(body)
        wake.withLock { $0 = hook }
    }

    public var listeningPort: Int? { port.withLock { $0 } }
    func listening(on port: Int) { self.port.withLock { $0 = port } }

    func admit(_ event: TransactionEvent, arrivalMillis: Int64) -> Admission {
        let retry = configuration.retryAfterSeconds
        let admission = state.withLock { s -> Admission in
            if let reason = s.closed { return .refused(.refused(status: 503, code: "stopping", message: reason, retryAfter: retry)) }
            if let first = s.claims[event.eventID] { return .following(first) }
            guard s.inFlight < configuration.maxInFlight else {
                return .refused(.refused(status: 429, code: "overloaded",
                                         message: "\(configuration.maxInFlight) requests are already waiting for a decision", retryAfter: retry))
            }
            let ticket = ScoreTicket(event: event, arrivalMillis: arrivalMillis)
            s.claims[event.eventID] = ticket
            s.inFlight += 1
            s.waiting.append(ticket)
            return .admitted(ticket)
        }
        if case .admitted = admission {
            metrics.inFlight(+1)
            wake.withLock { $0 }?.body()
        }
        return admission
    }

    var hasWaiting: Bool { state.withLock { !$0.waiting.isEmpty } }

    /// Up to `max` waiting tickets, oldest first.
    func take(max: Int) -> [ScoreTicket] {
        state.withLock { s in
            let n = Swift.min(max, s.waiting.count)
            defer { s.waiting.removeFirst(n) }
            return Array(s.waiting.prefix(n))
        }
    }

    /// The tickets' work is over (answered, and their write finished or never started):
    /// their event ids and in-flight places are released.
    func finish(_ tickets: [ScoreTicket]) {
        guard !tickets.isEmpty else { return }
        state.withLock { s in
            for ticket in tickets where s.claims[ticket.event.eventID] === ticket {
                s.claims[ticket.event.eventID] = nil
            }
            s.inFlight -= tickets.count
        }
        metrics.inFlight(-tickets.count)
    }

    /// Answers `tickets` with `answer` (those not answered yet) and finishes them.
    func refuse(_ tickets: [ScoreTicket], _ answer: ScoreAnswer) {
        for ticket in tickets { ticket.resolve(answer) }
        finish(tickets)
    }

    /// Serving stops: the waiting tickets and every later request are refused with 503.
    func close(_ reason: String) {
        let waiting = state.withLock { s -> [ScoreTicket] in
            s.closed = reason
            defer { s.waiting = [] }
            return s.waiting
        }
        refuse(waiting, .refused(status: 503, code: "stopping", message: reason, retryAfter: configuration.retryAfterSeconds))
    }
}
