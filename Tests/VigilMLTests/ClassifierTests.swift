import Testing
@testable import VigilML

@Suite struct ClassifierTests {
    static func configuration(sparsity: SparsitySchedule = SparsitySchedule(target: 0.7, startStep: 40, endStep: 240, updateInterval: 20)) -> SparseClassifier.Configuration {
        var c = SparseClassifier.Configuration(denseWidth: 6)
        c.hashBuckets = 32
        c.bagWidth = 4
        c.hiddenWidths = [32, 16]
        c.sparsity = sparsity
        c.optimizer.learningRate = 1e-2
        return c
    }

    /// Trains on x0·x1 > 0 (XOR-like) or a risky bucket (index < 2).
    static func trained(_ c: SparseClassifier.Configuration = configuration(), steps: Int = 320) throws -> SparseClassifier {
        var model = try SparseClassifier(configuration: c)
        let data = SyntheticData.fraudRule(count: 2048, width: 6, buckets: 32, riskyBuckets: 2, seed: 1)
        let batch = 128
        for step in 0..<steps {
            let start = (step * batch) % 2048
            let sparse = SparseBatch(lists: (start..<(start + batch)).map { j in
                Array(data.sparse.indices[Int(data.sparse.offsets[j])..<Int(data.sparse.offsets[j + 1])])
            })
            try model.train(rows: Array(data.rows[(start * 6)..<((start + batch) * 6)]), sparse: sparse,
                            labels: Array(data.labels[start..<(start + batch)]), count: batch)
        }
        let holdout = SyntheticData.fraudRule(count: 512, width: 6, buckets: 32, riskyBuckets: 2, seed: 2)
        try model.calibrate(rows: holdout.rows, sparse: holdout.sparse, labels: holdout.labels, count: 512)
        return model
    }

    @Test func learnsThePlantedNonLinearRuleWhilePrunedTo70Percent() throws {
        let model = try Self.trained()
        #expect(abs(model.sparsity - 0.7) < 0.01)
        let test = SyntheticData.fraudRule(count: 1000, width: 6, buckets: 32, riskyBuckets: 2, seed: 3)
        let labels = test.labels.map { $0 == 1 }
        for precision in WeightPrecision.allCases {
            let p = try model.snapshot(precision: precision).score(rows: test.rows, sparse: test.sparse, count: 1000)
            let accuracy = RankingMetrics.accuracy(scores: p, labels: labels)
            #expect(accuracy > 0.9, "\(precision) accuracy \(accuracy)")
            #expect(RankingMetrics.averagePrecision(scores: p, labels: labels) > 0.9)
        }
        // Calibrated: mean probability close to the positive rate.
        let p = try model.snapshot().score(rows: test.rows, sparse: test.sparse, count: 1000)
        let rate = test.labels.reduce(0, +) / 1000
        #expect(abs(p.reduce(0, +) / 1000 - rate) < 0.05)
    }

    @Test func sparseAndHalfSnapshotsAgreeWithTheFloat32Model() throws {
        let model = try Self.trained(steps: 260)
        let test = SyntheticData.fraudRule(count: 300, width: 6, buckets: 32, riskyBuckets: 2, seed: 4)
        let reference = try model.logits(rows: test.rows, sparse: test.sparse, count: 300).map { model.calibration.probability(logit: $0) }
        let denseF32 = try model.snapshot(precision: .float32, format: .dense).score(rows: test.rows, sparse: test.sparse, count: 300)
        let sparseF32 = try model.snapshot(precision: .float32, format: .sparse).score(rows: test.rows, sparse: test.sparse, count: 300)
        let sparseF16 = try model.snapshot(precision: .float16, format: .sparse).score(rows: test.rows, sparse: test.sparse, count: 300)
        #expect(maxAbsDifference(denseF32, reference) < 1e-4)
        #expect(maxAbsDifference(sparseF32, reference) < 1e-4)
        // Stated tolerance for Float16 weights: probabilities within 0.02 of Float32.
        #expect(maxAbsDifference(sparseF16, reference) < 0.02)
        if case .csr = model.snapshot(format: .standard).layers[0].storage {} else { Issue.record("pruned layer not stored as CSR") }
        #expect(model.snapshot(precision: .float16).weightBytes < model.snapshot(precision: .float32, format: .dense).weightBytes / 2)
    }

    @Test func progressivePruningFollowsTheScheduleAndRegrows() throws {
        let schedule = SparsitySchedule(target: 0.7, startStep: 10, endStep: 50, updateInterval: 5, regrowFraction: 0.2)
        #expect(schedule.sparsity(at: 9) == 0)
        #expect(schedule.sparsity(at: 10) == 0)
        #expect(schedule.sparsity(at: 30) > 0.55 && schedule.sparsity(at: 30) < 0.7)
        #expect(schedule.sparsity(at: 50) == 0.7 && schedule.sparsity(at: 500) == 0.7)
        var c = Self.configuration(sparsity: schedule)
        c.halfPrecisionGradients = false
        var model = try SparseClassifier(configuration: c)
        let data = SyntheticData.fraudRule(count: 64, width: 6, buckets: 32, riskyBuckets: 2, seed: 5)
        var previousMask: [Float]? = nil
        var changedAfterTarget = false
        for step in 1...70 {
            try model.train(rows: data.rows, sparse: data.sparse, labels: data.labels, count: 64)
            if step >= 10 { #expect(model.sparsity >= schedule.sparsity(at: step) - 0.01 || step % 5 != 0) }
            if step > 50, step % 5 == 0, let previousMask, previousMask != model.layers[0].mask { changedAfterTarget = true }
            if step % 5 == 0 { previousMask = model.layers[0].mask }
            // Pruned weights stay exactly zero in the master copy.
            if let mask = model.layers[0].mask {
                #expect(zip(mask, model.layers[0].weights).allSatisfy { $0.0 != 0 || $0.1 == 0 })
            }
        }
        #expect(abs(model.sparsity - 0.7) < 0.01)
        #expect(changedAfterTarget, "masks keep refreshing (drop + regrow) after the target is reached")
    }

    @Test func lossScalingRecoversFromInjectedOverflow() throws {
        var c = Self.configuration(sparsity: .dense)
        c.lossScaling.initialScale = 16_777_216  // gradients × 2^24 overflow Float16 (max 65504)
        c.lossScaling.growthInterval = 5
        var model = try SparseClassifier(configuration: c)
        let data = SyntheticData.fraudRule(count: 128, width: 6, buckets: 32, riskyBuckets: 2, seed: 6)
        let first = try model.train(rows: data.rows, sparse: data.sparse, labels: data.labels, count: 128)
        #expect(!first.applied)
        #expect(first.lossScale == 8_388_608)
        #expect(model.steps == 0)
        var reports: [SparseClassifier.StepReport] = [first]
        for _ in 0..<60 { reports.append(try model.train(rows: data.rows, sparse: data.sparse, labels: data.labels, count: 128)) }
        #expect(reports.contains { $0.applied })
        #expect(model.lossScaler.skippedSteps >= 2)
        // After the first clean step the scale grows again after 5 clean steps, then overflows again.
        let firstApplied = reports.firstIndex { $0.applied }!
        #expect(reports[(firstApplied + 1)...].contains { $0.lossScale > reports[firstApplied].lossScale })
        #expect(reports.last!.loss < reports[firstApplied].loss)
        let finite = model.layers.allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func lossScalerStateMachine() {
        var c = LossScaler.Configuration()
        c.initialScale = 8
        c.growthInterval = 2
        c.minimumScale = 2
        var s = LossScaler(configuration: c)
        #expect(!s.record(overflow: true) && s.scale == 4)
        #expect(!s.record(overflow: true) && s.scale == 2)
        #expect(!s.record(overflow: true) && s.scale == 2)
        #expect(s.record(overflow: false) && s.scale == 2)
        #expect(s.record(overflow: false) && s.scale == 4)
        #expect(LossScaler.toHalf([1, 70_000]) == nil)
        #expect(LossScaler.toHalf([1, .nan]) == nil)
        #expect(LossScaler.toHalf([1e-9]) == [0])  // underflow: what scaling exists to prevent
    }

    @Test func contributionsRankTheRuleFeaturesFirst() throws {
        let model = try Self.trained(steps: 260)
        let snapshot = model.snapshot()
        let row: [Float] = [2, 1.5, 0.1, -0.2, 0.05, 0.3]
        let contributions = try snapshot.contributions(row: row, sparseIndices: [20])
        #expect(contributions.count == 6)
        let top = contributions.indices.sorted { abs(contributions[$0]) > abs(contributions[$1]) }.prefix(2)
        #expect(Set(top) == [0, 1])
    }

    @Test func contributionsAreExactForALinearModelAndAgreeAcrossFormats() throws {
        var c = SparseClassifier.Configuration(denseWidth: 5)
        c.hiddenWidths = []
        c.sparsity = .dense
        let linear = try SparseClassifier(configuration: c)
        let row: [Float] = [0.5, -1, 2, 0.25, -0.75]
        let contributions = try linear.snapshot(precision: .float32).contributions(row: row)
        let weights = linear.layers[0].weights
        #expect(maxAbsDifference(contributions, zip(weights, row).map { $0 * $1 }) < 1e-6)
        let logit = try linear.logits(rows: row, count: 1)[0]
        #expect(abs(contributions.reduce(0, +) + linear.layers[0].bias[0] - logit) < 1e-5)

        let model = try Self.trained(steps: 260)
        let event: [Float] = [1, -0.5, 0.3, 0.2, -1.1, 0.4]
        let dense = try model.snapshot(precision: .float32, format: .dense).contributions(row: event, sparseIndices: [3, 9])
        let sparse = try model.snapshot(precision: .float32, format: .sparse).contributions(row: event, sparseIndices: [3, 9])
        let half = try model.snapshot(precision: .float16, format: .dense).contributions(row: event, sparseIndices: [3, 9])
        #expect(maxAbsDifference(dense, sparse) < 1e-4)
        #expect(maxAbsDifference(dense, half) < 2e-2)
    }

    @Test func sameSeedSameModelAndBadInputRejected() throws {
        let a = try Self.trained(steps: 60), b = try Self.trained(steps: 60)
        #expect(a.layers == b.layers && a.table == b.table)
        var model = a
        var rows = [Float](repeating: 0, count: 12)
        rows[7] = .infinity
        let sparse = SparseBatch(lists: [[1], [2]])
        let error = #expect(throws: MLError.self) { try model.train(rows: rows, sparse: sparse, labels: [0, 1], count: 2) }
        #expect(error?.code == .nonFiniteInput)
        #expect(model.layers == a.layers)
        rows[7] = 0
        #expect(throws: MLError.self) { try model.train(rows: rows, sparse: SparseBatch(lists: [[1], [99]]), labels: [0, 1], count: 2) }
        #expect(throws: MLError.self) { try model.train(rows: rows, sparse: sparse, labels: [0, 2], count: 2) }
        #expect(throws: MLError.self) { try model.snapshot().score(rows: rows, sparse: nil, count: 2) }
        rows[0] = .nan
        #expect(throws: MLError.self) { try model.snapshot().score(rows: rows, sparse: sparse, count: 2) }
    }
}
