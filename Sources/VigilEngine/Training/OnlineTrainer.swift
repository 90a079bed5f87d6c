// Learning while the stream runs: the scoring thread hands over what it scored and the label
// consumer what it learned; the learner (ContinuousLearner) tests each label on the live model
// and the challenger, teaches the challenger, and publishes it with one atomic swap when the
// guard finds it not worse. Serve runs this on the trainer's own thread; replay calls the same
// steps itself at fixed points of the stream.
import Dispatch
import Foundation
import Synchronization
import VigilFeatures
import VigilML

/// What one `learn` call decided, to be published by `OnlineTrainer.publish`.
public struct LearningOutcome: Sendable {
    public var checks: [PublicationCheck]
    let candidate: Candidate?

    /// Whether a candidate passed the guard and waits to be published.
    public var hasCandidate: Bool { candidate != nil }
}

/// The continuous learner behind a registry. Sendable: the scoring thread calls `observe`,
/// the label consumer `record(label:)`; learning runs on the trainer's own thread (`start`) or
/// wherever the caller runs `learn`, one call at a time.
public final class OnlineTrainer: Sendable {
    public let configuration: OnlineTrainerConfiguration
    public let registry: ModelRegistry
    let recent: Mutex<RecentTraffic>
    private let inbox: Mutex<Inbox>
    /// Held for a whole `learn` call: learning is sequential by construction.
    private let learner: Mutex<ContinuousLearner>
    private let control = Mutex(Control())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let log: @Sendable (PublicationCheck) -> Void
    /// Stores a candidate before it goes live (see `init`); nil keeps versions local.
    let persist: (@Sendable (_ build: (Int64) throws -> ModelSet) throws -> ModelSet)?

    struct Inbox {
        var work: LearningWork
        /// Scored events until the next one joins the traffic sample.
        var untilSample = 0
        var signalled = false
    }

    struct Control {
        var started = false
        var stopRequested = false
        var unmatchedLabels = 0
        var checks: [PublicationCheck] = []
        /// The model this trainer published last (its candidate went live).
        var lastPublished: PublishedModel?
        /// The OS thread id of the running trainer thread (Linux), for operators' tools and tests.
        var threadID: Int32?
    }

    /// - Parameters:
    ///   - featureWidth, sparseWidth: the feature spec's dense and sparse counts.
    ///   - risk: the scorer's risk combination (the guard judges the same number).
    ///   - log: called with every publication check, on the thread that made it.
    ///   - persist: called with a builder for a candidate that passed the guard: it allocates
    ///     the version (e.g. in a shared database, so instances never collide), builds and
    ///     stores the set and returns it; the trainer then swaps it in.
    public init(registry: ModelRegistry, featureWidth: Int, sparseWidth: Int,
                configuration: OnlineTrainerConfiguration = OnlineTrainerConfiguration(),
                risk: RiskScorerConfiguration = RiskScorerConfiguration(),
                log: @escaping @Sendable (PublicationCheck) -> Void = { _ in },
                persist: (@Sendable (_ build: (Int64) throws -> ModelSet) throws -> ModelSet)? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        self.registry = registry
        recent = Mutex(RecentTraffic(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: configuration.recentCapacity))
        inbox = Mutex(Inbox(work: LearningWork(featureWidth: featureWidth, sparseWidth: sparseWidth)))
        learner = Mutex(ContinuousLearner(live: registry.current, featureWidth: featureWidth, sparseWidth: sparseWidth,
                                          configuration: configuration, risk: risk))
        self.log = log
        self.persist = persist
    }

    // MARK: Inputs

    /// Remembers the vectors of a scored batch (call on the scoring thread after `score`), and
    /// queues every `trafficSampleEvery`-th event for the autoencoder. One short lock each.
    public func observe(_ batch: ScoredBatch, events: ArraySlice<TransactionEvent>) {
        precondition(events.count == batch.count, "the batch holds \(batch.count) scored events, \(events.count) were given")
        // Hashed before the lock, and by index: iterating the events by value would copy
        // (retain and release) every string of every event.
        var hashes = [UInt64](repeating: 0, count: events.count)
        for (i, index) in events.indices.enumerated() { hashes[i] = StableHash.hash(events[index].eventID) }
        recent.withLock { $0.record(eventHashes: hashes, batch: batch) }
        let every = configuration.trafficSampleEvery
        let signal = inbox.withLock { box in
            var j = box.untilSample
            while j < batch.count {
                box.work.traffic.append(dense: batch.featureRow(j), sparse: batch.sparseRow(j))
                j += every
            }
            box.untilSample = j - batch.count
            return wakeNeeded(&box)
        }
        if signal { wake.signal() }
    }

    /// Joins a label to the vector that was scored for its event and queues it. Returns false
    /// when that event is no longer (or never was) remembered; the label is counted as unmatched.
    @discardableResult
    public func record(label: LabelEvent) -> Bool {
        guard let example = join(label: label, labelID: 0) else { return false }
        // Joined here, so always of this trainer's shape.
        return (try? learn(example)) != nil
    }

    /// The example a label makes with the vector scored for its event, dense features rounded
    /// to half precision (what the training topic carries, so a learner in another process
    /// learns exactly what this one would). nil, counted as unmatched, when the event is no
    /// longer (or never was) remembered.
    public func join(label: LabelEvent, labelID: Int64) -> TrainingExample? {
        let key = StableHash.hash(label.eventID)
        let found = recent.withLock { r in r.lookup(eventHash: key).map { (TrainingExample.roundedToHalf($0.dense), Array($0.sparse), $0.modelVersion) } }
        guard let (dense, sparse, version) = found else {
            control.withLock { $0.unmatchedLabels += 1 }
            return nil
        }
        return TrainingExample(labelID: labelID, eventID: label.eventID, isFraud: label.isFraud, labelledAtMillis: label.timestampMillis,
                               modelVersion: version, dense: dense, sparse: sparse)
    }

    /// Queues a joined example for learning (from this process's `join` or the training topic).
    /// An example of another shape (a member on another feature spec) is refused with
    /// `.featureSpecMismatch`.
    public func learn(_ example: TrainingExample) throws {
        let (d, s) = recent.withLock { ($0.featureWidth, $0.sparseWidth) }
        guard example.dense.count == d, example.sparse.count == s else {
            throw EngineError(.featureSpecMismatch, "example of event \(example.eventID) has \(example.dense.count) dense and \(example.sparse.count) sparse features, the learner \(d) and \(s)")
        }
        let signal = inbox.withLock { box in
            box.work.labelled.append(dense: example.dense[...], sparse: example.sparse[...], label: example.isFraud ? 1 : 0)
            return wakeNeeded(&box)
        }
        if signal { wake.signal() }
    }

    /// Remembers examples an earlier learner of this lineage learnt (a former tenure's, read
    /// back from the training topic) for rehearsal only: they are not learnt again and count
    /// in no figure. Examples of another shape are left out. Returns how many were remembered.
    @discardableResult
    public func recall(_ examples: [TrainingExample]) -> Int {
        let (d, s) = recent.withLock { ($0.featureWidth, $0.sparseWidth) }
        var rows = ExampleRows(featureWidth: d, sparseWidth: s)
        for e in examples where e.dense.count == d && e.sparse.count == s {
            rows.append(dense: e.dense[...], sparse: e.sparse[...], label: e.isFraud ? 1 : 0)
        }
        learner.withLock { $0.recall(rows) }
        return rows.count
    }

    /// Examples held in the rehearsal memory.
    public var rehearsalCount: Int { learner.withLock { $0.rehearsalCount } }

    /// Queues sampled traffic taken from another trainer's `takeQueued` (the group learner
    /// learns the autoencoder from its own instance's scored traffic).
    public func learnTraffic(from work: LearningWork) {
        guard work.traffic.count > 0 else { return }
        let signal = inbox.withLock { box in
            box.work.traffic.append(contentsOf: work.traffic)
            return wakeNeeded(&box)
        }
        if signal { wake.signal() }
    }

    /// One wake-up per batch of arrivals: the thread takes everything queued when it runs.
    private func wakeNeeded(_ box: inout Inbox) -> Bool {
        guard !box.signalled else { return false }
        box.signalled = true
        return true
    }

    /// Everything queued since the last call, in arrival order.
    public func takeQueued() -> LearningWork {
        inbox.withLock { box in
            let work = box.work
            box.work = LearningWork(featureWidth: work.labelled.featureWidth, sparseWidth: work.labelled.sparseWidth)
            box.signalled = false
            return work
        }
    }

    // MARK: Learning and publication

    /// Learns from `work` with `live` as the model in service (default: the registry's now)
    /// and the clock at `nowMillis` (wall clock in serve, event time in replay). Publishes
    /// nothing: `publish` does. Blocks while another `learn` runs.
    public func learn(_ work: LearningWork, nowMillis: Int64) -> LearningOutcome {
        learn(work, live: registry.current, published: lastPublished, nowMillis: nowMillis)
    }

    /// The same with the live model and this trainer's last publication as they were when the
    /// work was handed over: replay's learns run late on their own queue, and must see the
    /// state of their hand-over point.
    public func learn(_ work: LearningWork, live: ModelSet, published: PublishedModel?, nowMillis: Int64) -> LearningOutcome {
        let (checks, candidate) = learner.withLock { $0.learn(work, live: live, published: published, nowMillis: nowMillis) }
        let logged = checks.filter { $0.outcome != .pending }
        record(logged)
        return LearningOutcome(checks: checks, candidate: candidate)
    }

    /// Learns the labels left waiting behind a publication (nothing new), with the live model
    /// and last publication as they are now: what the serve loop does right after publishing.
    public func learnWaiting(nowMillis: Int64) -> LearningOutcome {
        let empty = LearningWork(featureWidth: recent.withLock { $0.featureWidth }, sparseWidth: recent.withLock { $0.sparseWidth })
        return learn(empty, live: registry.current, published: lastPublished, nowMillis: nowMillis)
    }

    /// Builds the outcome's candidate (through `persist` when set, which allocates its version;
    /// else under the registry's next version, created at `createdAtMillis` or now) and swaps
    /// it in if the model it was trained on is still live. nil without a candidate.
    @discardableResult
    public func publish(_ outcome: LearningOutcome, createdAtMillis: Int64? = nil) -> PublicationCheck? {
        guard let candidate = outcome.candidate, var check = outcome.checks.first(where: { $0.number == candidate.check }) else { return nil }
        let created = createdAtMillis ?? Self.nowMillis()
        // Stale before anything is built or stored (the live model moved on since the check).
        guard registry.currentVersion == candidate.parent else {
            check.outcome = .stale
            record([check])
            return check
        }
        do {
            let build = { (version: Int64) throws -> ModelSet in try candidate.build(version, created) }
            let set = try persist.map { try $0(build) } ?? build(registry.nextVersion())
            try registry.publish(set, replacing: candidate.parent)
            control.withLock { $0.lastPublished = PublishedModel(version: set.version, parent: candidate.parent) }
            check.outcome = .promoted(version: set.version)
        } catch {
            check.outcome = .stale
        }
        record([check])
        return check
    }

    private func record(_ checks: [PublicationCheck]) {
        guard !checks.isEmpty else { return }
        control.withLock { c in
            c.checks += checks
            if c.checks.count > 64 { c.checks.removeFirst(c.checks.count - 64) }
        }
        for check in checks { log(check) }
    }

    /// Takes what is queued, learns from it on the calling thread with the wall clock, and
    /// publishes each passing candidate, going on with the labels waiting behind it until none
    /// are left: what the background thread does at each wake-up. Returns every check made
    /// (its candidates already published).
    @discardableResult
    public func learnQueued() -> LearningOutcome {
        var outcome = learn(takeQueued(), nowMillis: Self.nowMillis())
        var checks = outcome.checks
        while true {
            if outcome.hasCandidate { publish(outcome) }
            guard hasWaitingLabels else { break }
            outcome = learnWaiting(nowMillis: Self.nowMillis())
            checks += outcome.checks
        }
        return LearningOutcome(checks: checks, candidate: nil)
    }

    /// Names the calling thread for the OS (top -H, perf) by writing its comm: Foundation's
    /// name setter reaches the OS only some of the time, and a thread started from a dispatch
    /// worker otherwise keeps that worker's name. Linux only; elsewhere nothing happens.
    static func nameOSThread(_ name: String) {
        guard let comm = FileHandle(forWritingAtPath: "/proc/thread-self/comm") else { return }
        defer { try? comm.close() }
        try? comm.write(contentsOf: Data(name.utf8.prefix(15)))
    }

    /// The calling thread's OS id: "/proc/thread-self" links to "<pid>/task/<tid>" (Linux;
    /// nil where it does not exist). Read on this very thread.
    static func osThreadID() -> Int32? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") else { return nil }
        return link.split(separator: "/").last.flatMap { Int32($0) }
    }

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Figures

    /// Whether labels handed over wait for the next `learn` (a check passed before them):
    /// callers that drain the learner call `learn` with empty work until this is false.
    public var hasWaitingLabels: Bool { learner.withLock { $0.waitingLabels > 0 } }

    /// The OS id of the trainer's thread while it runs (Linux; nil elsewhere and when stopped).
    public var threadID: Int32? { control.withLock { $0.threadID } }

    /// The model this trainer published last, if any.
    public var lastPublished: PublishedModel? { control.withLock { $0.lastPublished } }

    /// The latest publication checks, oldest first (the last 64).
    public var checks: [PublicationCheck] { control.withLock { $0.checks } }
    /// Labels learnt from, labels whose event was not remembered, and scored events seen.
    public var labelsLearnt: Int { learner.withLock { $0.labelsLearnt } }
    public var unmatchedLabels: Int { control.withLock { $0.unmatchedLabels } }
    public var trafficObserved: Int { recent.withLock { $0.recorded } }
    /// Training steps taken, and challengers reset after diverging.
    public var classifierSteps: Int { learner.withLock { $0.classifierSteps } }
    public var autoencoderSteps: Int { learner.withLock { $0.autoencoderSteps } }
    public var resets: Int { learner.withLock { $0.resets } }

    /// The learner itself, for tests (planting a diverged challenger, reading the window).
    func withLearner<T>(_ body: (inout ContinuousLearner) throws -> T) rethrows -> T {
        try learner.withLock { try body(&$0) }
    }

    // MARK: Background thread

    /// Starts the trainer's own thread: it learns from whatever arrived as soon as it arrives,
    /// and at least every `wakeInterval` (the time trigger of publication). Idempotent; a
    /// stopped trainer does not start again.
    public func start() {
        let first = control.withLock { c in
            defer { c.started = true }
            return !c.started
        }
        guard first else { return }
        let thread = Thread { [self] in
            Thread.current.name = "vigil-trainer"
            Self.nameOSThread("vigil-trainer")
            control.withLock { $0.threadID = Self.osThreadID() }
            let nanos = configuration.wakeInterval.components
            let interval = Int(nanos.seconds) * 1_000_000_000 + Int(nanos.attoseconds / 1_000_000_000)
            while true {
                _ = wake.wait(timeout: .now() + .nanoseconds(interval))
                if control.withLock({ $0.stopRequested }) { break }
                learnQueued()
            }
            control.withLock { $0.threadID = nil }
            finished.signal()
        }
        thread.name = "vigil-trainer"
        thread.start()
    }

    /// Stops the thread after its current step. Blocks until it has stopped, so call it from a
    /// thread that may block (not the cooperative pool).
    public func stop() {
        let wasStarted = control.withLock { c in
            defer { c.stopRequested = true }
            return c.started && !c.stopRequested
        }
        guard wasStarted else { return }
        wake.signal()
        finished.wait()
    }
}
