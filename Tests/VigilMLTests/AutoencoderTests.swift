import Foundation
import Testing
@testable import VigilML

@Suite struct AutoencoderTests {
    static let width = 12

    static func configuration(seed: UInt64 = 7) -> ContrastiveAutoencoder.Configuration {
        var c = ContrastiveAutoencoder.Configuration(inputWidth: width)
        c.encoderWidths = [24]
        c.embeddingWidth = 4
        c.decoderWidths = [24]
        c.optimizer.learningRate = 3e-3
        c.seed = seed
        return c
    }

    /// Trains on mostly normal traffic (0.5% planted anomalies; labels unused). With 2%
    /// contamination a tight cluster gets memorised after enough epochs: the autoencoder
    /// is for traffic that is mostly legitimate, as the design says.
    static func trained(seed: UInt64 = 7, epochs: Int = 10) throws -> ContrastiveAutoencoder {
        var model = try ContrastiveAutoencoder(configuration: configuration(seed: seed))
        let data = SyntheticData.anomalyMixture(count: 1536, width: width, anomalyRate: 0.005, seed: 1)
        let batch = 64
        for _ in 0..<epochs {
            for start in stride(from: 0, to: 1536, by: batch) {
                try model.train(rows: Array(data.rows[(start * width)..<((start + batch) * width)]), count: batch)
            }
        }
        try model.fitNormalRegion(rows: data.rows, count: 1536)
        return model
    }

    @Test func plantedAnomalousClusterRanksFarAboveTheAnomalyRate() throws {
        let model = try Self.trained()
        let test = SyntheticData.anomalyMixture(count: 1000, width: Self.width, anomalyRate: 0.02, seed: 2)
        let rate = Double(test.isAnomaly.filter { $0 }.count) / 1000
        let scores = try model.snapshot().score(rows: test.rows, count: 1000)
        let ap = RankingMetrics.averagePrecision(scores: scores, labels: test.isAnomaly)
        #expect(ap > 0.9, "AUPRC \(ap) vs anomaly rate \(rate)")
        #expect(ap > 20 * rate)
        // Float16 weights: stated tolerance 0.05 standard-score units per event, same ranking quality.
        let half = try model.snapshot(precision: .float16).score(rows: test.rows, count: 1000)
        #expect(maxAbsDifference(half, scores) < 0.05)
        #expect(abs(RankingMetrics.averagePrecision(scores: half, labels: test.isAnomaly) - ap) < 0.01)
        // Normal traffic sits near zero in standard-score units.
        let normal = zip(scores, test.isAnomaly).filter { !$0.1 }.map(\.0)
        #expect(abs(normal.reduce(0, +) / Float(normal.count)) < 0.5)
    }

    @Test func trainingReducesLossAndIsReproducibleWithTheSameSeed() throws {
        let data = SyntheticData.anomalyMixture(count: 256, width: Self.width, anomalyRate: 0, seed: 3)
        func run(seed: UInt64) throws -> (ContrastiveAutoencoder, [Float]) {
            var m = try ContrastiveAutoencoder(configuration: Self.configuration(seed: seed))
            let losses = try (0..<30).map { _ in try m.train(rows: data.rows, count: 256).reconstruction }
            return (m, losses)
        }
        let (a, lossesA) = try run(seed: 5)
        let (b, lossesB) = try run(seed: 5)
        let (c, _) = try run(seed: 6)
        #expect(lossesA == lossesB)
        #expect(a.layers == b.layers)
        #expect(a.layers != c.layers)
        #expect(lossesA.last! < 0.5 * lossesA.first!)
    }

    @Test func warmStartContinuesFromTheLoadedModel() throws {
        let data = SyntheticData.anomalyMixture(count: 128, width: Self.width, anomalyRate: 0, seed: 4)
        var straight = try ContrastiveAutoencoder(configuration: Self.configuration())
        for _ in 0..<6 { try straight.train(rows: data.rows, count: 128) }
        var resumed = try ContrastiveAutoencoder(configuration: Self.configuration())
        for _ in 0..<3 { try resumed.train(rows: data.rows, count: 128) }
        resumed = try ModelFile.decodeAutoencoder(ModelFile.encode(resumed, featureSpecHash: 1)).model
        for _ in 0..<3 { try resumed.train(rows: data.rows, count: 128) }
        #expect(resumed.layers == straight.layers)
        #expect(resumed.steps == 6)
    }

    @Test func reasonsPointAtTheCorruptedFeature() throws {
        let model = try Self.trained()
        let snapshot = try model.snapshot()
        var row = Array(SyntheticData.anomalyMixture(count: 1, width: Self.width, anomalyRate: 0, seed: 9).rows)
        row[5] += 4
        var score: [Float] = [0]
        var errors = [Float](repeating: 0, count: Self.width)
        try row.withUnsafeBufferPointer { r in
            try score.withUnsafeMutableBufferPointer { s in
                try errors.withUnsafeMutableBufferPointer {
                    try snapshot.score(rows: r, count: 1, scores: s, featureErrors: $0, workspace: ScoringWorkspace())
                }
            }
        }
        #expect(errors.indices.max { errors[$0] < errors[$1] } == 5)
        #expect(score[0] > 3)
    }

    @Test func nonFiniteInputIsRejectedAndNeverReachesWeights() throws {
        var model = try ContrastiveAutoencoder(configuration: Self.configuration())
        var rows = SyntheticData.anomalyMixture(count: 8, width: Self.width, anomalyRate: 0, seed: 5).rows
        let before = model.layers
        rows[17] = .nan
        let error = #expect(throws: MLError.self) { try model.train(rows: rows, count: 8) }
        #expect(error?.code == .nonFiniteInput)
        #expect(model.layers == before)
        rows[17] = 0
        try model.fitNormalRegion(rows: rows, count: 8)
        rows[3] = -.infinity
        #expect(throws: MLError.self) { try model.snapshot().score(rows: rows, count: 8) }
        #expect(throws: MLError.self) { try model.fitNormalRegion(rows: rows, count: 8) }
        #expect(throws: MLError.self) { try model.train(rows: [Float](repeating: 0, count: 11), count: 1) }
    }

    @Test func scoringNeedsAFittedNormalRegion() throws {
        let model = try ContrastiveAutoencoder(configuration: Self.configuration())
        let error = #expect(throws: MLError.self) { try model.snapshot() }
        #expect(error?.code == .notReady)
    }

    @Test func invalidConfigurationIsRejected() {
        var c = Self.configuration()
        c.embeddingWidth = 0
        #expect(throws: MLError.self) { try ContrastiveAutoencoder(configuration: c) }
        c = Self.configuration()
        c.dropoutRate = 1.5
        #expect(throws: MLError.self) { try ContrastiveAutoencoder(configuration: c) }
    }
}
