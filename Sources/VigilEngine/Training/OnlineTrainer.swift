// Learning while the stream runs: the scoring thread hands over what it scored and the label
// consumer what it learned; a background thread turns both into candidate models, judges them
// on a recent held-out window and promotes the ones that are not worse with one atomic swap.
import Dispatch
import Foundation
import Synchronization
import VigilFeatures
import VigilML

/// What one training round did, for logs and tests.
public struct TrainingRound: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case promoted(version: Int64)
        case rejected
        /// The live model changed while the candidate was trained; it was thrown away.
        case stale
        case skipped(reason: String)
    }
    public var number: Int
    public var liveVersion: Int64
    public var outcome: Outcome
    public var verdict: PromotionVerdict?
    public var labelledExamples: Int
    public var classifierTrained: Bool
    public var seconds: Double

    public var summary: String {
        let what = switch outcome {
        case .promoted(let v): "promoted version \(v)"
        case .rejected: "rejected candidate"
        case .stale: "dropped stale candidate"
        case .skipped(let reason): "skipped (\(reason))"
        }
        return "training round \(number) on version \(liveVersion): \(what)\(verdict.map { "; " + $0.summary } ?? ""), \(labelledExamples) labelled examples, \(String(format: "%.2f", seconds)) s"
    }
}

/// Background training over recent traffic and joined labels. Sendable: the scoring thread
/// calls `observe`, the label consumer `record(label:)`, and rounds run on the trainer's own
/// thread (`start`) or synchronously (`runRound`), never on the scoring thread.
public final class OnlineTrainer: Sendable {
    public let configuration: OnlineTrainerConfiguration
    public let registry: ModelRegistry
    let guardrail: PromotionGuard
    let recent: Mutex<RecentTraffic>
    let labelled: Mutex<LabelledExamples>
    private let control = Mutex(Control())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let log: @Sendable (TrainingRound) -> Void
    /// Stores a promotable candidate before it goes live (see `init`); nil keeps versions local.
    let persist: (@Sendable (_ build: (Int64) throws -> ModelSet) throws -> ModelSet)?

    struct Control {
        var started = false
        var stopRequested = false
        var roundRunning = false
        var labelsSinceRound = 0
        var trafficSinceRound = 0
        var trafficSignalled = false
        var lastRoundStarted: ContinuousClock.Instant?
        var unmatchedLabels = 0
        var rounds: [TrainingRound] = []
        var roundCount = 0
    }

    /// - Parameters:
    ///   - featureWidth, sparseWidth: the feature spec's dense and sparse counts.
    ///   - risk: the scorer's risk combination (the guard judges the same number).
    ///   - log: called with every finished round, on the thread that ran it.
    ///   - persist: called on the training thread with a builder for a candidate that passed
    ///     the guard: it allocates the version (e.g. in a shared database, so instances never
    ///     collide), builds and stores the set and returns it; the trainer then swaps it in.
    public init(registry: ModelRegistry, featureWidth: Int, sparseWidth: Int,
                configuration: OnlineTrainerConfiguration = OnlineTrainerConfiguration(),
                risk: RiskScorerConfiguration = RiskScorerConfiguration(),
                log: @escaping @Sendable (TrainingRound) -> Void = { _ in },
                persist: (@Sendable (_ build: (Int64) throws -> ModelSet) throws -> ModelSet)? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.registry = registry
        guardrail = PromotionGuard(configuration: configuration, risk: risk)
        recent = Mutex(RecentTraffic(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: configuration.recentCapacity))
        labelled = Mutex(LabelledExamples(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: configuration.labelledCapacity))
        self.log = log
        self.persist = persist
    }

    // MARK: Inputs

    /// Remembers the vectors of a scored batch (call on the scoring thread after `score`).
    /// Costs one short lock and a copy of the batch's features.
    public func observe(_ batch: ScoredBatch, events: ArraySlice<TransactionEvent>) {
        precondition(events.count == batch.count, "the batch holds \(batch.count) scored events, \(events.count) were given")
        // Hashed before the lock, and by index: iterating the events by value would copy
        // (retain and release) every string of every event.
        var hashes = [UInt64](repeating: 0, count: events.count)
        for (i, index) in events.indices.enumerated() { hashes[i] = StableHash.hash(events[index].eventID) }
        recent.withLock { $0.record(eventHashes: hashes, batch: batch) }
        let due = control.withLock { c in
            // Signal once per round (a round resets it): past the volume and the gap.
            c.trafficSinceRound += events.count
            guard !c.trafficSignalled, c.trafficSinceRound >= configuration.trafficPerRound else { return false }
            if let last = c.lastRoundStarted, ContinuousClock.now - last < configuration.trafficRoundGap { return false }
            c.trafficSignalled = true
            return true
        }
        if due { wake.signal() }
    }

    /// Joins a label to the vector that was scored for its event. Returns false when that
    /// event is no longer (or never was) remembered; the label is then counted as unmatched.
    @discardableResult
    public func record(label: LabelEvent) -> Bool {
        let key = StableHash.hash(label.eventID)
        let vector = recent.withLock { r in
            r.markLabel(eventHash: key, isFraud: label.isFraud)
            return r.lookup(eventHash: key).map { (Array($0.dense), Array($0.sparse)) }
        }
        guard let vector else {
            control.withLock { $0.unmatchedLabels += 1 }
            return false
        }
        labelled.withLock { $0.append(dense: vector.0[...], sparse: vector.1[...], isFraud: label.isFraud) }
        let due = control.withLock { c in
            c.labelsSinceRound += 1
            return c.labelsSinceRound == configuration.labelsPerRound
        }
        if due { wake.signal() }
        return true
    }

    /// Finished rounds, oldest first (the last 64).
    public var rounds: [TrainingRound] { control.withLock { $0.rounds } }
    /// Labels joined so far, and labels whose event was not remembered.
    public var labelsJoined: Int { labelled.withLock { $0.joined } }
    public var unmatchedLabels: Int { control.withLock { $0.unmatchedLabels } }
    public var trafficObserved: Int { recent.withLock { $0.recorded } }

    // MARK: Background thread

    /// Starts the trainer's own thread: a round every `interval`, or sooner when
    /// `labelsPerRound` new labels or `trafficPerRound` newly scored events arrived. Idempotent; a stopped trainer does not start again.
    public func start() {
        let first = control.withLock { c in
            defer { c.started = true }
            return !c.started
        }
        guard first else { return }
        let thread = Thread { [self] in
            // Named from inside: on Linux only the running thread's name reaches the OS (top -H).
            Thread.current.name = "vigil-trainer"
            let nanos = configuration.interval.components
            let interval = Int(nanos.seconds) * 1_000_000_000 + Int(nanos.attoseconds / 1_000_000_000)
            while true {
                _ = wake.wait(timeout: .now() + .nanoseconds(interval))
                if control.withLock({ $0.stopRequested }) { break }
                runRound()
            }
            finished.signal()
        }
        thread.name = "vigil-trainer"
        thread.start()
    }

    /// Stops the thread after its current round. Blocks until it has stopped, so call it
    /// from a thread that may block (not the cooperative pool).
    public func stop() {
        let wasStarted = control.withLock { c in
            defer { c.stopRequested = true }
            return c.started && !c.stopRequested
        }
        guard wasStarted else { return }
        wake.signal()
        finished.wait()
    }

    // MARK: Rounds

    /// Judges `candidate` against the live model on the current held-out window.
    public func judge(candidate: ModelSet) throws -> PromotionVerdict {
        let live = registry.current
        var g = SeededGenerator(seed: configuration.seed)
        let data = heldOut(generator: &g)
        return guardrail.judge(
            live: try guardrail.measure(live.scorer, classifierIsTrained: live.classifierIsTrained, traffic: data.traffic, labelled: data.labelled),
            candidate: try guardrail.measure(candidate.scorer, classifierIsTrained: candidate.classifierIsTrained, traffic: data.traffic, labelled: data.labelled))
    }

    /// Runs one round synchronously on the calling thread (tests, tools; the background
    /// thread calls this too). A round already running elsewhere makes this one skip.
    @discardableResult
    public func runRound() -> TrainingRound {
        guard let prepared = prepareRound() else {
            return TrainingRound(number: 0, liveVersion: registry.currentVersion, outcome: .skipped(reason: "another round is running"),
                                 labelledExamples: 0, classifierTrained: false, seconds: 0)
        }
        return finish(train(prepared: prepared))
    }

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Rounds in three steps (reproducible background training)

    /// Step 1, on the thread that feeds the trainer: takes the round's data (a seeded sample
    /// of recent traffic, the labelled examples) and the live model at this moment. nil when
    /// another round is running. Until `finish`, no other round starts.
    /// - Parameters:
    ///   - candidateVersion: the version a promotable candidate will carry, when the caller
    ///     knows it (nothing else publishes meanwhile, no `persist`); the candidate is then
    ///     built, checksum and all, in `train` rather than in `finish`. Default: allocated in `finish`.
    ///   - createdAtMillis: the candidate's creation time (a replay passes event time so saved
    ///     model files are reproducible). Default: the wall clock when it is built.
    public func prepareRound(candidateVersion: Int64? = nil, createdAtMillis: Int64? = nil) -> PreparedRound? {
        let number: Int? = control.withLock { c in
            guard !c.roundRunning else { return nil }
            c.roundRunning = true
            c.labelsSinceRound = 0
            c.trafficSinceRound = 0
            c.trafficSignalled = false
            c.lastRoundStarted = .now
            c.roundCount += 1
            return c.roundCount
        }
        guard let number else { return nil }
        var g = SeededGenerator(seed: configuration.seed &+ UInt64(number))
        let live = registry.current
        let data = heldOut(generator: &g)
        return PreparedRound(number: number, live: live, data: data, generator: g,
                             candidateVersion: persist == nil ? candidateVersion : nil, createdAtMillis: createdAtMillis)
    }

    /// Step 2, on any thread: trains and judges a candidate from the snapshot alone (the same
    /// snapshot always gives the same candidate). Publishes nothing.
    public func train(prepared: PreparedRound) -> TrainedRound {
        let clock = ContinuousClock(), began = clock.now
        var trained: TrainedRound
        do {
            trained = try train(prepared)
        } catch {
            trained = TrainedRound(round: TrainingRound(number: prepared.number, liveVersion: prepared.live.version,
                                                        outcome: .skipped(reason: "\(error)"), labelledExamples: 0,
                                                        classifierTrained: false, seconds: 0))
        }
        if let version = prepared.candidateVersion, let build = trained.build {
            do { trained.built = try build(version, prepared.createdAtMillis ?? Self.nowMillis()) } catch {
                trained = TrainedRound(round: trained.round)
                trained.round.outcome = .skipped(reason: "\(error)")
            }
        }
        let elapsed = (clock.now - began).components
        trained.round.seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        return trained
    }

    /// Step 3: a candidate that passed the guard is built unless `train` built it (stored
    /// through `persist` when set) and swapped in if the model it was trained on is still
    /// live; the round is logged and the next one may start.
    @discardableResult
    public func finish(_ trained: TrainedRound) -> TrainingRound {
        var round: TrainingRound
        do {
            round = try promote(trained)
        } catch {
            round = trained.round
            round.outcome = .skipped(reason: "\(error)")
        }
        let finishedRound = round
        control.withLock { c in
            c.roundRunning = false
            c.rounds.append(finishedRound)
            if c.rounds.count > 64 { c.rounds.removeFirst() }
        }
        log(finishedRound)
        return finishedRound
    }
}

/// A round's inputs, taken at one moment by `OnlineTrainer.prepareRound`.
public struct PreparedRound: Sendable {
    public let number: Int
    let live: ModelSet
    let data: OnlineTrainer.HeldOut
    let generator: SeededGenerator
    let candidateVersion: Int64?
    let createdAtMillis: Int64?
}

/// A trained and judged candidate, not yet published (`OnlineTrainer.finish` does that).
public struct TrainedRound: Sendable {
    /// The round so far: `.rejected` or `.skipped`, or `.rejected` with a passing verdict
    /// until `finish` promotes it.
    public var round: TrainingRound
    /// Builds the candidate given its version and creation time; nil when it is not promotable.
    let build: (@Sendable (_ version: Int64, _ createdAtMillis: Int64) throws -> ModelSet)?
    /// The candidate, when its version was known in advance (`prepareRound(candidateVersion:)`).
    var built: ModelSet?

    init(round: TrainingRound, build: (@Sendable (Int64, Int64) throws -> ModelSet)? = nil) {
        self.round = round
        self.build = build
    }

    /// The candidate model set, when `train` built it (its version was given in advance).
    public var candidate: ModelSet? { built }

    /// Whether `finish` will try to publish it.
    public var isPromotable: Bool { build != nil }
}
