import Foundation
import Synchronization
import Testing
import VigilFeatures
@testable import VigilML
@testable import VigilEngine

/// Streams simulated traffic through scorer, policy and trainer the way the service will.
final class TrainingHarness {
    let stream: (events: [TransactionEvent], fraud: [String: Bool], labels: [LabelEvent])
    let registry: ModelRegistry
    let trainer: OnlineTrainer
    let scorer: RiskScorer
    var extractor: FeatureExtractor
    var batch = ScoredBatch()
    /// (first event index, model version) of every scored batch.
    var batchVersions: [(Int, Int64)] = []

    static var configuration: OnlineTrainerConfiguration {
        var c = OnlineTrainerConfiguration()
        c.recentCapacity = 20_000
        c.minimumLabels = 100
        c.publishEveryLabels = 100
        c.minimumPublishGap = .zero
        c.guardWindow = 2_000
        c.guardMinimumFrauds = 3
        c.trafficSampleEvery = 4
        c.autoencoderBatch = 64
        c.normalRegionSample = 512
        c.wakeInterval = .milliseconds(50)
        return c
    }

    /// `initial`: the live set to start from (default: a cold start on the stream).
    /// `persist`: the trainer's store-and-promote step, given the registry (default: none).
    init(transactions: Int = 5000, configuration: OnlineTrainerConfiguration = TrainingHarness.configuration, initial: ModelSet? = nil,
         persist: (@Sendable (ModelRegistry, _ build: (Int64) throws -> ModelSet) throws -> ModelSet)? = nil) throws {
        stream = Fixture.stream(transactions: transactions)
        let registry = ModelRegistry(initial: try initial ?? Fixture.coldStart(events: stream.events), retainedVersions: 16)
        self.registry = registry
        extractor = try Fixture.extractor()
        scorer = try RiskScorer(registry: registry, extractor: extractor)
        trainer = try OnlineTrainer(registry: registry, featureWidth: Fixture.spec.dense.count, sparseWidth: extractor.sparseCount,
                                    configuration: configuration, persist: persist.map { p in { @Sendable build in try p(registry, build) } })
    }

    /// Feeds events and labels in stream order; calls `afterBatch` after every scored batch.
    func run(batchSize: Int = 250, afterBatch: (Int) throws -> Void = { _ in }) throws {
        var labels = stream.labels[...]
        var start = 0
        while start < stream.events.count {
            let slice = stream.events[start..<min(start + batchSize, stream.events.count)]
            // Labels due before this batch's first event arrive first.
            while let l = labels.first, l.timestampMillis <= slice.first!.timestampMillis {
                trainer.record(label: l)
                labels.removeFirst()
            }
            try scorer.score(slice, extractor: &extractor, into: &batch)
            trainer.observe(batch, events: slice)
            batchVersions.append((start, batch.modelVersion))
            start += slice.count
            try afterBatch(start)
        }
    }
}

/// Serialized: several tests start a trainer thread and wait on it; one at a time keeps their waits short on two cores.
@Suite(.serialized) struct OnlineTrainerTests {
    @Test func arrivingLabelsLeadToAPromotionThatLaterBatchesUse() throws {
        let h = try TrainingHarness()
        var promoted: [Int64] = []
        var newestAfterBatch: [Int64] = []  // the newest version promoted once batch k was scored
        try h.run { _ in
            let outcome = h.trainer.learnQueued()
            for check in h.trainer.checks.suffix(outcome.checks.count) { if case .promoted(let v) = check.outcome { promoted.append(v) } }
            newestAfterBatch.append(promoted.last ?? 1)
        }
        #expect(h.trainer.labelsLearnt > 200)
        let live = h.registry.current
        #expect(!promoted.isEmpty, "no promotion: \(h.trainer.checks.map(\.summary))")
        #expect(live.version > 1 && live.classifierIsTrained)
        #expect(live.parent != nil && live.metrics.averagePrecision != nil && live.metrics.windowFrauds >= 3)
        #expect(live.metrics.labelledExamples > 200 && live.metrics.classifierSteps > 0)
        // Every batch after a promotion is scored by a version at least that new (one learning
        // call may promote more than once; only its last version scores).
        for (k, version) in newestAfterBatch.dropLast().enumerated() { #expect(h.batchVersions[k + 1].1 == version) }
        #expect(h.batchVersions.map(\.1) == h.batchVersions.map(\.1).sorted())
        // Cost per label is bounded: one step per chunk of fresh labels (closed early by each
        // fraud label), never a sweep.
        let chunks = (h.trainer.labelsLearnt + h.trainer.configuration.labelsPerStep - 1) / h.trainer.configuration.labelsPerStep
        let frauds = h.stream.labels.filter(\.isFraud).count
        #expect(h.trainer.classifierSteps <= chunks + frauds + h.stream.events.count / 250)
    }

    /// Test-then-train: the window holds what the challenger said of each label before it
    /// learnt from it, and learning did change what it says.
    @Test func everyLabelIsScoredBeforeItTeaches() throws {
        let h = try TrainingHarness(transactions: 3000)
        try h.run { _ in h.trainer.learnQueued() }
        try #require(h.trainer.classifierSteps > 0)
        // One more step's chunk of known labels, scored by the challenger as it stands.
        let n = h.trainer.configuration.labelsPerStep
        var chunk = ExampleRows(featureWidth: Fixture.spec.dense.count, sparseWidth: h.extractor.sparseCount)
        for (i, e) in h.stream.events.suffix(n).enumerated() {
            let v = h.trainer.recent.withLock { $0.lookup(eventHash: StableHash.hash(e.eventID)) }!
            chunk.append(dense: v.dense, sparse: v.sparse, label: i == n - 1 ? 1 : 0)  // one fraud, last: one step
        }
        let before = try h.trainer.withLearner { l in try l.challenger.score(chunk, inputs: l.challenger.inputs(chunk), risk: l.risk).risks }
        var work = LearningWork(featureWidth: chunk.featureWidth, sparseWidth: chunk.sparseWidth)
        work.labelled = chunk
        _ = h.trainer.learn(work, nowMillis: 0)
        let (recorded, after) = try h.trainer.withLearner { l in
            (l.window.entries().suffix(n).map(\.challenger), try l.challenger.score(chunk, inputs: l.challenger.inputs(chunk), risk: l.risk).risks)
        }
        #expect(recorded == before)
        #expect(after != before, "the step changed nothing, so the order could not be told")
    }

    @Test func aDivergedChallengerIsResetAndTheLiveModelKeepsServing() throws {
        let h = try TrainingHarness(transactions: 3000)
        try h.run { _ in h.trainer.learnQueued() }
        let live = h.registry.current
        try #require(live.classifierIsTrained)
        // Planted: a blown-up classifier (every embedding weight NaN), as a runaway step would leave it.
        h.trainer.withLearner { l in
            var c = l.challenger.classifier
            c.table = c.table.map { _ in .nan }
            l.challenger.classifier = c
        }
        try h.run { _ in h.trainer.learnQueued() }
        #expect(h.trainer.resets >= 1, "\(h.trainer.checks.map(\.summary))")
        #expect(h.trainer.checks.filter { $0.outcome == .reset }.allSatisfy { $0.verdict?.diverged == true })
        // Nothing diverged went live: every version after the plant passed the guard.
        #expect(h.registry.current.metrics.logLoss.map { $0.isFinite && $0 < 2 } ?? true)
    }

    @Test func anOperatorsRollbackIsFollowed() throws {
        let h = try TrainingHarness()
        var rolledBackTo: Int64?
        var checkedFrom: Int?
        try h.run { done in
            guard checkedFrom == nil else { return }
            h.trainer.learnQueued()
            let promoted = h.registry.current
            if promoted.version > 1 {
                rolledBackTo = try h.registry.rollback().version
                #expect(rolledBackTo == promoted.parent)
                checkedFrom = done
            }
        }
        let from = try #require(checkedFrom, "no promotion happened to roll back: \(h.trainer.checks.map(\.summary))")
        let after = h.batchVersions.filter { $0.0 >= from }
        #expect(!after.isEmpty && after.allSatisfy { $0.1 == rolledBackTo })
        h.trainer.learnQueued()
        #expect(h.trainer.checks.contains { $0.outcome == .followed(version: rolledBackTo!) })
    }

    /// Serve stores and promotes a candidate in the database before publishing it in its own
    /// registry, and the model follower may adopt the stored copy in between. The publication
    /// is still the trainer's own: it goes on from it rather than restarting (which would
    /// empty its guard window) as it does when another instance or an operator promotes.
    @Test func aPublicationTheFollowerAdoptedFirstStaysTheTrainersOwn() throws {
        let h = try TrainingHarness(persist: { registry, build in
            let set = try build(registry.nextVersion())
            try registry.adopt(set.renumbered(version: set.version, parent: set.parent))  // the follower's copy, read back
            return set
        })
        try h.run { _ in h.trainer.learnQueued() }
        let promoted = h.trainer.checks.filter { if case .promoted = $0.outcome { true } else { false } }
        #expect(promoted.count >= 2, "\(h.trainer.checks.map(\.summary))")
        #expect(!h.trainer.checks.contains { if case .followed = $0.outcome { true } else { false } })
        #expect(h.trainer.lastPublished?.version == h.registry.currentVersion)
    }

    /// The challenger learning label by label ranks fraud about as well as the same model
    /// retrained from scratch on every label at the end (several passes over all of them).
    @Test func incrementalLearningMatchesAFullRetrain() throws {
        var c = TrainingHarness.configuration
        c.publishEveryLabels = 200
        let h = try TrainingHarness(transactions: 8000, configuration: c)
        let cut = 6000
        var examples = ExampleRows(featureWidth: Fixture.spec.dense.count, sparseWidth: h.extractor.sparseCount)
        try h.run { done in
            if done <= cut { h.trainer.learnQueued() }
        }
        for l in h.stream.labels {
            guard let i = h.stream.events.firstIndex(where: { $0.eventID == l.eventID }), i < cut, l.timestampMillis <= h.stream.events[cut - 1].timestampMillis,
                  let v = h.trainer.recent.withLock({ $0.lookup(eventHash: StableHash.hash(l.eventID)) }) else { continue }
            examples.append(dense: v.dense, sparse: v.sparse, label: l.isFraud ? 1 : 0)
        }
        try #require(examples.fraudCount >= 10)
        let incremental = h.trainer.withLearner { $0.challenger }
        // The full retrain: a fresh classifier on the incremental run's autoencoder, 6 epochs.
        let seed = try Fixture.coldStart(events: h.stream.events)
        var full = try SparseClassifier(configuration: seed.classifier.configuration)
        let inputs = try incremental.inputs(examples).inputs
        var g = SeededGenerator(seed: 5)
        for _ in 0..<6 {
            var order = Array(0..<examples.count)
            order.shuffle(using: &g)
            for start in stride(from: 0, to: order.count - 1, by: 64) {
                let picked = Array(order[start..<min(start + 64, order.count)])
                let batch = examples.pick(picked)
                try full.train(rows: RowGather.gather(inputs, width: full.configuration.denseWidth, rows: picked),
                               sparse: batch.sparseBatch, labels: batch.labels, count: batch.count)
            }
        }
        // Both judged on the events after the cut, which neither learnt from.
        var test = ExampleRows(featureWidth: examples.featureWidth, sparseWidth: examples.sparseWidth)
        var truth: [Bool] = []
        for e in h.stream.events[cut...] {
            let v = h.trainer.recent.withLock { $0.lookup(eventHash: StableHash.hash(e.eventID)) }!
            test.append(dense: v.dense, sparse: v.sparse, label: 0)
            truth.append(h.stream.fraud[e.eventID]!)
        }
        let testInputs = try incremental.inputs(test).inputs
        let a = RankingMetrics.averagePrecision(scores: try incremental.classifier.logits(rows: testInputs, sparse: test.sparseBatch, count: test.count), labels: truth)
        let b = RankingMetrics.averagePrecision(scores: try full.logits(rows: testInputs, sparse: test.sparseBatch, count: test.count), labels: truth)
        print("incremental AUPRC \(a), full retrain \(b), fraud rate \(Double(truth.filter { $0 }.count) / Double(truth.count))")
        #expect(a >= b - 0.1, "incremental \(a) vs full retrain \(b)")
        #expect(a > 3 * Double(truth.filter { $0 }.count) / Double(truth.count))
    }

    @Test func theBackgroundThreadLearnsAndPromotesWhileTheStreamIsScored() throws {
        // The trainer's store step tells the test when a candidate passed the guard.
        let stored = DispatchSemaphore(value: 0)
        let h = try TrainingHarness(persist: { registry, build in
            defer { stored.signal() }
            return try build(registry.nextVersion())
        })
        h.trainer.start()
        try h.run()
        // Bounded wait for the event, not a timing assertion.
        #expect(stored.wait(timeout: .now() + .seconds(120)) == .success, "\(h.trainer.checks.map(\.summary))")
        // stop() returns once the thread has finished its step (the publication included) and exited.
        h.trainer.stop()
        #expect(h.trainer.threadID == nil)
        #expect(h.registry.currentVersion > 1, "\(h.trainer.checks.map(\.summary))")
        let learnt = h.trainer.labelsLearnt
        _ = h.trainer.record(label: h.stream.labels.last!)
        h.trainer.start()  // a stopped trainer does not start again
        #expect(h.trainer.threadID == nil && h.trainer.labelsLearnt == learnt, "learning went on after stop")
    }

    /// Learning runs on a thread of its own that operators can tell apart (top -H, perf):
    /// it carries its name at the OS level while the trainer runs and is gone after stop.
    /// Identified by its OS thread id: other tests in this process may run trainers of their own.
    /// Linux only (it reads /proc): skipped, and reported as skipped, elsewhere.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/thread-self"), "reads thread names from /proc"))
    func theTrainerRunsOnItsOwnNamedThread() throws {
        let h = try TrainingHarness(transactions: 300)
        h.trainer.start()
        var tid: Int32?
        for _ in 0..<500 where tid == nil {
            tid = h.trainer.threadID
            if tid == nil { Thread.sleep(forTimeInterval: 0.01) }
        }
        let id = try #require(tid, "the trainer thread never reported its id")
        let comm = try? String(contentsOfFile: "/proc/self/task/\(id)/comm", encoding: .utf8)
        #expect(comm?.trimmingCharacters(in: .whitespacesAndNewlines) == "vigil-trainer")
        h.trainer.stop()
        #expect(h.trainer.threadID == nil)
        // The thread has returned; the kernel reaps its task entry once it has exited.
        var alive = true
        for _ in 0..<500 where alive {
            alive = FileManager.default.fileExists(atPath: "/proc/self/task/\(id)")
            if alive { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(!alive, "thread \(id) still exists after stop")
    }

    @Test func labelsForUnknownEventsAreCountedNotJoined() throws {
        let h = try TrainingHarness(transactions: 600)
        #expect(!h.trainer.record(label: LabelEvent(eventID: "never-seen", isFraud: true, timestampMillis: 0)))
        #expect(h.trainer.unmatchedLabels == 1)
        let outcome = h.trainer.learnQueued()
        #expect(outcome.checks.isEmpty && h.trainer.labelsLearnt == 0)
    }
}

@Suite struct PromotionGuardTests {
    let guardrail: PromotionGuard = {
        var c = OnlineTrainerConfiguration()
        c.guardMinimumFrauds = 20
        return PromotionGuard(configuration: c)
    }()

    func figures(live: Double, challenger: Double, frauds: Int = 100, liveLoss: Double = 0.05, challengerLoss: Double = 0.05) -> PrequentialWindow.Figures {
        PrequentialWindow.Figures(labels: 10_000, frauds: frauds, liveAveragePrecision: live, challengerAveragePrecision: challenger,
                                  liveLogLoss: liveLoss, challengerLogLoss: challengerLoss)
    }

    @Test func aChallengerWithinTheWindowsNoiseIsPromotedAWorseOneIsNot() {
        // 100 frauds at AP 0.5: one standard error is 0.05.
        let within = guardrail.judge(window: figures(live: 0.5, challenger: 0.46), reconstruction: nil, liveClassifierTrained: true)
        #expect(within.promote && within.metric == .averagePrecision && abs(within.margin! - 0.05) < 1e-9)
        let worse = guardrail.judge(window: figures(live: 0.5, challenger: 0.42), reconstruction: nil, liveClassifierTrained: true)
        #expect(!worse.promote && !worse.diverged)
        // The same gap over 1,000 frauds is beyond the noise.
        #expect(!guardrail.judge(window: figures(live: 0.5, challenger: 0.46, frauds: 1000), reconstruction: nil, liveClassifierTrained: true).promote)
    }

    @Test func aBlownUpOrNaNLogLossIsDivergence() {
        let nan = guardrail.judge(window: figures(live: 0.5, challenger: 0.6, challengerLoss: .nan), reconstruction: nil, liveClassifierTrained: true)
        #expect(nan.diverged && !nan.promote)
        let blown = guardrail.judge(window: figures(live: 0.5, challenger: 0.6, challengerLoss: 5.1), reconstruction: nil, liveClassifierTrained: true)
        #expect(blown.diverged && !blown.promote)
        // Fourfold but tiny is calibration lag, not divergence.
        let lag = guardrail.judge(window: figures(live: 0.5, challenger: 0.5, liveLoss: 0.01, challengerLoss: 0.04), reconstruction: nil, liveClassifierTrained: true)
        #expect(!lag.diverged && lag.promote)
    }

    @Test func tooFewFraudsLetOnlyAnAutoencoderChangeThrough() {
        let few = figures(live: 0.5, challenger: 0.9, frauds: 5)
        let trained = guardrail.judge(window: few, reconstruction: (1.0, 0.9), liveClassifierTrained: true)
        #expect(!trained.promote && trained.metric == nil)
        let cold = guardrail.judge(window: few, reconstruction: (1.0, 0.9), liveClassifierTrained: false)
        #expect(cold.promote && cold.metric == .reconstructionError)
        #expect(!guardrail.judge(window: few, reconstruction: (1.0, 1.5), liveClassifierTrained: false).promote)
    }
}

@Suite struct TrainingExampleStoreTests {
    static func batch(_ values: [Float]) -> ScoredBatch {
        var b = ScoredBatch()
        b.prepare(count: values.count, featureWidth: 2, sparseWidth: 1)
        for (i, v) in values.enumerated() {
            b.features[2 * i] = v
            b.features[2 * i + 1] = -v
            b.sparse[i] = UInt32(i)
        }
        return b
    }

    @Test func recentTrafficIsBoundedAndKeyedByEvent() {
        var recent = RecentTraffic(featureWidth: 2, sparseWidth: 1, capacity: 3)
        let b = Self.batch([1, 2, 3, 4])
        recent.record(eventHashes: [100, 101, 102, 103], batch: b)
        #expect(recent.count == 3 && recent.recorded == 4)
        #expect(recent.lookup(eventHash: 100) == nil, "the oldest was overwritten")
        #expect(recent.lookup(eventHash: 102).map { Array($0.dense) } == [3, -3])
    }

    @Test func rehearsalIsClassBalancedAndBounded() {
        var memory = RehearsalMemory(featureWidth: 1, sparseWidth: 0, fraudCapacity: 2, legitCapacity: 3)
        var rows = ExampleRows(featureWidth: 1, sparseWidth: 0)
        for i in 0..<20 { rows.append(dense: [Float(i)], sparse: [], label: i % 10 == 0 ? 1 : 0) }
        memory.add(rows)
        #expect(memory.fraud.count == 2 && memory.legit.count == 3)
        var drawn = ExampleRows(featureWidth: 1, sparseWidth: 0)
        var g = SeededGenerator(seed: 1)
        memory.draw(40, into: &drawn, known: true, generator: &g)
        #expect(drawn.count == 40 && drawn.fraudCount == 20 && drawn.known.count == 40)
        // Only the newest of each class are kept: frauds 0 and 10, legit 17, 18, 19.
        for j in 0..<40 {
            #expect(drawn.labels[j] == 1 ? [0, 10].contains(drawn.dense[j]) : [17, 18, 19].contains(drawn.dense[j]))
            #expect(drawn.known[j] == Int8(drawn.labels[j]))
        }
    }

    @Test func thePrequentialWindowKeepsTheNewestAndCountsFrauds() {
        var w = PrequentialWindow(capacity: 3)
        for i in 0..<5 { w.add(isFraud: i % 2 == 0, live: Float(i), challenger: Float(i) / 10, challengerLogit: 0) }
        #expect(w.count == 3 && w.frauds == 2)
        #expect(w.entries().map(\.live) == [2, 3, 4])
        let f = w.figures()
        // Ranked 4 (fraud), 3, 2 (fraud): precision 1 at the first fraud, 2/3 at the second.
        #expect(abs(f.liveAveragePrecision! - 5.0 / 6) < 1e-9 && abs(f.challengerAveragePrecision! - 5.0 / 6) < 1e-9)
        w.clear()
        #expect(w.count == 0 && w.frauds == 0 && w.figures().liveAveragePrecision == nil)
    }
}
