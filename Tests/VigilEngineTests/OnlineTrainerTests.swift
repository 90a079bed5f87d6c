import Foundation
import Testing
import VigilFeatures
import VigilML
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
        c.autoencoderSample = 1024
        c.autoencoderSteps = 8
        c.classifierEpochs = 3
        c.batchSize = 64
        c.minimumLabels = 100
        c.minimumHoldoutFraud = 3
        c.labelsPerRound = 200
        c.interval = .milliseconds(50)
        return c
    }

    init(transactions: Int = 5000, configuration: OnlineTrainerConfiguration = TrainingHarness.configuration) throws {
        stream = Fixture.stream(transactions: transactions)
        registry = ModelRegistry(initial: try Fixture.coldStart(events: stream.events), retainedVersions: 16)
        extractor = try Fixture.extractor()
        scorer = try RiskScorer(registry: registry, extractor: extractor)
        trainer = try OnlineTrainer(registry: registry, featureWidth: Fixture.spec.dense.count, sparseWidth: extractor.sparseCount,
                                    configuration: configuration)
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

@Suite struct OnlineTrainerTests {
    @Test func arrivingLabelsCauseAPromotionThatLaterBatchesUse() throws {
        let h = try TrainingHarness()
        try h.run { done in if done % 1000 == 0 && done < h.stream.events.count { h.trainer.runRound() } }
        let rounds = h.trainer.rounds
        for r in rounds { print(r.summary) }
        #expect(h.trainer.labelsJoined > 200)
        let promotedByLabels = rounds.filter {
            if case .promoted = $0.outcome { return $0.classifierTrained && $0.verdict?.metric == .averagePrecision }
            return false
        }
        #expect(!promotedByLabels.isEmpty, "no promotion judged on labels: \(rounds.map(\.summary))")
        let live = h.registry.current
        #expect(live.version > 1 && live.classifierIsTrained)
        #expect(live.parent != nil && live.metrics.averagePrecision != nil && live.metrics.heldOutFraud >= 3)
        // Every batch after a promotion is scored by a version at least that new.
        for case .promoted(let version) in rounds.map(\.outcome) {
            #expect(h.batchVersions.contains { $0.1 == version })
        }
        #expect(h.batchVersions.map(\.1) == h.batchVersions.map(\.1).sorted())
        #expect(h.batchVersions.last!.1 == live.version)
    }

    @Test func aWorseCandidateIsRejectedAndAnEqualOneIsNot() throws {
        let h = try TrainingHarness()
        try h.run { done in if done % 1000 == 0 { h.trainer.runRound() } }
        let live = h.registry.current
        try #require(live.classifierIsTrained)
        // The same architecture trained on inverted truth: it ranks fraud last.
        var x = try Fixture.extractor()
        var rows: [Float] = [], lists: [[Int32]] = [], inverted: [Float] = []
        for e in h.stream.events.prefix(3000) {
            let v = x.extract(e)
            rows += v.dense
            lists.append(v.sparse.map { Int32($0) })
            inverted.append(h.stream.fraud[e.eventID]! ? 0 : 1)
        }
        var worse = try SparseClassifier(configuration: live.classifier.configuration)
        let inputs = try live.scorer.anomaly.withAnomalyInputs(rows: rows, count: 3000)
        for _ in 0..<20 { try worse.train(rows: inputs, sparse: SparseBatch(lists: lists), labels: inverted, count: 3000) }
        let candidate = try ModelSet(version: h.registry.nextVersion(), parent: live.version, createdAtMillis: 0,
                                     featureSpecHash: live.featureSpecHash, architecture: live.architecture,
                                     autoencoder: live.autoencoder, classifier: worse, metrics: ModelMetrics())
        let verdict = try h.trainer.judge(candidate: candidate)
        print(verdict.summary)
        #expect(verdict.metric == .averagePrecision)
        #expect(!verdict.promote)
        #expect(verdict.candidate.averagePrecision! < verdict.live.averagePrecision!)
        let same = try h.trainer.judge(candidate: live.renumbered(version: h.registry.nextVersion(), parent: live.version))
        #expect(same.promote && same.candidate.averagePrecision == same.live.averagePrecision)
    }

    @Test func rollbackAfterAPromotionIsWhatTheNextBatchUses() throws {
        let h = try TrainingHarness()
        var rolledBackTo: Int64?
        var checkedFrom: Int?
        try h.run { done in
            guard checkedFrom == nil, done % 500 == 0 else { return }
            h.trainer.runRound()
            let promoted = h.registry.current
            if promoted.version > 1 {
                rolledBackTo = try h.registry.rollback().version
                #expect(rolledBackTo == promoted.parent)
                checkedFrom = done
            }
        }
        let from = try #require(checkedFrom, "no promotion happened to roll back: \(h.trainer.rounds.map(\.summary))")
        let after = h.batchVersions.filter { $0.0 >= from }
        #expect(!after.isEmpty && after.allSatisfy { $0.1 == rolledBackTo })
    }

    @Test func theBackgroundThreadTrainsAndPromotesWhileTheStreamIsScored() throws {
        let h = try TrainingHarness()
        h.trainer.start()
        try h.run()
        // Keep the scoring loop going until the trainer promoted (bounded wait, not a timing assertion).
        var waited = 0
        while h.registry.currentVersion == 1 && waited < 2400 {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 1
        }
        h.trainer.stop()
        let rounds = h.trainer.rounds.count
        Thread.sleep(forTimeInterval: 0.2)
        #expect(h.trainer.rounds.count == rounds, "rounds ran after stop")
        #expect(h.registry.currentVersion > 1, "\(h.trainer.rounds.map(\.summary))")
    }

    @Test func scoredTrafficStartsARoundWithoutWaitingForTheInterval() throws {
        var c = TrainingHarness.configuration
        c.interval = .seconds(3600)
        c.labelsPerRound = 1_000_000  // only traffic can start a round
        c.trafficPerRound = 1_000
        let h = try TrainingHarness(transactions: 3000, configuration: c)
        h.trainer.start()
        try h.run()
        var waited = 0
        while h.trainer.rounds.isEmpty && waited < 2400 {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 1
        }
        h.trainer.stop()
        #expect(!h.trainer.rounds.isEmpty, "3,000 scored events at 1,000 per round started no round")

        // Within the gap after a round's start, more traffic starts no further round.
        c.trafficRoundGap = .seconds(3600)
        let gapped = try TrainingHarness(transactions: 3000, configuration: c)
        gapped.trainer.start()
        try gapped.run()
        waited = 0
        while gapped.trainer.rounds.isEmpty && waited < 2400 {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 1
        }
        try gapped.run()  // 3,000 more events, three thresholds' worth
        Thread.sleep(forTimeInterval: 0.2)
        gapped.trainer.stop()
        #expect(gapped.trainer.rounds.count == 1, "\(gapped.trainer.rounds.map(\.summary))")

        // The same stream under a threshold it never reaches: nothing wakes the thread.
        c.trafficPerRound = 1_000_000
        let quiet = try TrainingHarness(transactions: 3000, configuration: c)
        quiet.trainer.start()
        try quiet.run()
        quiet.trainer.stop()
        #expect(quiet.trainer.rounds.isEmpty)
    }

    /// Rounds run on a thread of their own that operators can tell apart (top -H, perf):
    /// it carries its name at the OS level while the trainer runs and is gone after stop.
    @Test func theTrainerRunsOnItsOwnNamedThread() throws {
        #if os(Linux)
        func threads(named name: String) -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter { tid in
                let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8)
                return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name
            }.count
        }
        var c = TrainingHarness.configuration
        c.interval = .seconds(3600)
        let h = try TrainingHarness(transactions: 300, configuration: c)
        h.trainer.start()
        var seen = 0
        for _ in 0..<100 where seen == 0 {
            seen = threads(named: "vigil-trainer")
            if seen == 0 { Thread.sleep(forTimeInterval: 0.02) }
        }
        h.trainer.stop()
        #expect(seen == 1)
        var left = 1
        for _ in 0..<100 where left > 0 {
            left = threads(named: "vigil-trainer")
            if left > 0 { Thread.sleep(forTimeInterval: 0.02) }
        }
        #expect(left == 0)
        #endif
    }

    @Test func labelsForUnknownEventsAreCountedNotJoined() throws {
        let h = try TrainingHarness(transactions: 600)
        #expect(!h.trainer.record(label: LabelEvent(eventID: "never-seen", isFraud: true, timestampMillis: 0)))
        #expect(h.trainer.unmatchedLabels == 1 && h.trainer.labelsJoined == 0)
        let round = h.trainer.runRound()
        #expect(round.outcome == .skipped(reason: "fewer than 256 recent events"))
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

    @Test func recentTrafficIsBoundedKeyedByEventAndCarriesKnownLabels() {
        var recent = RecentTraffic(featureWidth: 2, sparseWidth: 1, capacity: 3)
        let b = Self.batch([1, 2, 3, 4])
        recent.record(eventHashes: [100, 101, 102, 103], batch: b)
        #expect(recent.count == 3 && recent.recorded == 4)
        #expect(recent.lookup(eventHash: 100) == nil, "the oldest was overwritten")
        #expect(recent.lookup(eventHash: 102).map { Array($0.dense) } == [3, -3])
        recent.markLabel(eventHash: 103, isFraud: true)
        recent.markLabel(eventHash: 100, isFraud: true)  // forgotten: no effect
        var g = SeededGenerator(seed: 1)
        let sample = recent.sample(60, generator: &g)
        #expect(sample.count == 60 && sample.known.count == 60)
        for j in 0..<60 {
            #expect(sample.known[j] == (sample.dense[2 * j] == 4 ? 1 : -1))
        }
    }

    @Test func labelledExamplesKeepTheNewestInArrivalOrder() {
        var store = LabelledExamples(featureWidth: 1, sparseWidth: 0, capacity: 4)
        for i in 0..<10 { store.append(dense: [Float(i)], sparse: [], isFraud: i % 3 == 0) }
        let all = store.all()
        #expect(store.joined == 10 && all.count == 4)
        #expect(all.dense == [6, 7, 8, 9] && all.labels == [1, 0, 0, 1])
    }
}
