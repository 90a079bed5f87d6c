import Testing
@testable import VigilML

@Suite struct ScorerTests {
    @Test func combinedScorerFeedsTheAutoencoderIntoTheClassifier() throws {
        let width = AutoencoderTests.width
        var cae = try ContrastiveAutoencoder(configuration: AutoencoderTests.configuration())
        let normal = SyntheticData.anomalyMixture(count: 512, width: width, anomalyRate: 0.005, seed: 1)
        for _ in 0..<20 { try cae.train(rows: normal.rows, count: 512) }
        try cae.fitNormalRegion(rows: normal.rows, count: 512)
        let anomaly = try cae.snapshot()

        // Labels = the planted cluster: the classifier can learn it from the anomaly inputs.
        let train = SyntheticData.anomalyMixture(count: 1024, width: width, anomalyRate: 0.1, seed: 2)
        let trainRows = try anomaly.withAnomalyInputs(rows: train.rows, count: 1024)
        var c = SparseClassifier.Configuration(denseWidth: width + 1 + anomaly.embeddingWidth)
        c.hiddenWidths = [16]
        c.sparsity = SparsitySchedule(target: 0.5, startStep: 20, endStep: 100, updateInterval: 10)
        c.optimizer.learningRate = 1e-2
        var classifier = try SparseClassifier(configuration: c)
        for _ in 0..<120 { try classifier.train(rows: trainRows, labels: train.isAnomaly.map { $0 ? 1 : 0 }, count: 1024) }
        let scorer = try Scorer(anomaly: anomaly, classifier: classifier.snapshot())
        #expect(scorer.usesAnomalyInputs)

        let test = SyntheticData.anomalyMixture(count: 300, width: width, anomalyRate: 0.1, seed: 3)
        let workspace = ScoringWorkspace()
        let scores = try scorer.score(batch: test.rows, count: 300, workspace: workspace)
        #expect(RankingMetrics.averagePrecision(scores: scores.map(\.fraudProbability), labels: test.isAnomaly) > 0.9)
        // The batch path equals scoring the autoencoder alone and one event at a time.
        let alone = try anomaly.score(rows: test.rows, count: 300)
        #expect(maxAbsDifference(scores.map(\.anomaly), alone) < 1e-4)
        for j in [0, 17, 299] {
            let single = try scorer.score(batch: Array(test.rows[(j * width)..<((j + 1) * width)]), count: 1, workspace: workspace)
            #expect(abs(single[0].fraudProbability - scores[j].fraudProbability) < 1e-4)
            #expect(abs(single[0].anomaly - scores[j].anomaly) < 1e-4)
        }
        // Bad input: nothing written, clear error.
        var bad = test.rows
        bad[5] = .nan
        let error = #expect(throws: MLError.self) { try scorer.score(batch: bad, count: 300, workspace: workspace) }
        #expect(error?.code == .nonFiniteInput)
        #expect(try scorer.score(batch: [], count: 0, workspace: workspace).isEmpty)
        #expect(throws: MLError.self) { try scorer.score(batch: test.rows, count: 299, workspace: workspace) }
    }

    @Test func pathologicalWeightsNeverYieldANonFiniteScore() throws {
        var cae = try ContrastiveAutoencoder(configuration: AutoencoderTests.configuration())
        let data = SyntheticData.anomalyMixture(count: 16, width: 12, anomalyRate: 0, seed: 1)
        try cae.fitNormalRegion(rows: data.rows, count: 16)
        cae.layers[0].weights = cae.layers[0].weights.map { $0 * 1e30 }  // as if a file had been forged
        let error = #expect(throws: MLError.self) { try cae.snapshot().score(rows: data.rows, count: 16) }
        #expect(error?.code == .nonFiniteOutput)
    }

    @Test func mismatchedModelsAreRefused() throws {
        var cae = try ContrastiveAutoencoder(configuration: AutoencoderTests.configuration())
        let data = SyntheticData.anomalyMixture(count: 16, width: 12, anomalyRate: 0, seed: 1)
        try cae.fitNormalRegion(rows: data.rows, count: 16)
        let classifier = try SparseClassifier(configuration: .init(denseWidth: 5))
        let error = #expect(throws: MLError.self) { try Scorer(anomaly: cae.snapshot(), classifier: classifier.snapshot()) }
        #expect(error?.code == .shapeMismatch)
    }
}
