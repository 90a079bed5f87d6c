// What the engine benchmarks share: simulated traffic, and a model set trained on it to the
// shape production uses (standard feature spec, classifier pruned to its target sparsity).
import Foundation
import VigilEngine
import VigilFeatures
import VigilML
import VigilSimulator

enum EngineBenchmarkSupport {
    /// `count` simulated transactions (default simulator world) and whether each is fraud.
    static func traffic(count: Int, seed: UInt64 = 1) -> (events: [TransactionEvent], fraud: [Bool]) {
        var c = SimulatorConfiguration()
        c.seed = seed
        var events: [TransactionEvent] = []
        var fraud: [Bool] = []
        events.reserveCapacity(count)
        for record in TransactionSimulator(configuration: c, maxTransactions: count) {
            guard case .transaction(let t) = record else { continue }
            events.append(TransactionEvent(
                eventID: t.eventID, timestampMillis: t.timestampMillis, cardID: t.cardID, merchantID: t.merchantID,
                amount: Double(t.amountCents) / 100, currency: t.currency, mcc: t.mcc, country: t.country,
                channel: t.channel, terminalID: t.terminalID, customerID: t.customerID))
            fraud.append(t.scenario.isFraud)
        }
        return (events, fraud)
    }

    /// A cold start on the first events, then the classifier trained on the truth of the
    /// next ones for `classifierSteps` steps (enough to reach the pruning target by default).
    static func trainedModels(spec: FeatureSpec, events: [TransactionEvent], fraud: [Bool],
                              classifierSteps: Int, architecture: ModelArchitecture = ModelArchitecture()) throws -> ModelSet {
        var extractor = try FeatureExtractor(spec: spec)
        let d = extractor.denseCount
        let n = min(events.count, 40_000)
        var rows: [Float] = []
        var lists: [[Int32]] = []
        rows.reserveCapacity(n * d)
        for e in events.prefix(n) {
            let v = extractor.extract(e)
            rows += v.dense
            lists.append(v.sparse.map { Int32(bitPattern: $0) })
        }
        let warm = min(8192, n)
        let cold = try ModelSet.coldStart(featureSpecHash: spec.specHash, featureWidth: d,
                                          sparseDimension: Int(extractor.sparseDimension), architecture: architecture,
                                          warmUpRows: Array(rows[0..<(warm * d)]), count: warm, epochs: 3)
        var classifier = cold.classifier
        let inputs = try cold.scorer.anomaly.withAnomalyInputs(rows: rows, count: n)
        let width = classifier.configuration.denseWidth, batch = 256
        var g = SeededGenerator(seed: 9)
        for _ in 0..<classifierSteps {
            var r: [Float] = [], s: [[Int32]] = [], y: [Float] = []
            for _ in 0..<batch {
                let i = Int(g.next() % UInt64(n))
                r += inputs[(i * width)..<((i + 1) * width)]
                s.append(lists[i])
                y.append(fraud[i] ? 1 : 0)
            }
            try classifier.train(rows: r, sparse: SparseBatch(lists: s), labels: y, count: batch)
        }
        try classifier.calibrate(rows: inputs, sparse: SparseBatch(lists: lists), labels: fraud.prefix(n).map { $0 ? 1 : 0 }, count: n)
        return try ModelSet(version: 2, parent: 1, createdAtMillis: cold.createdAtMillis, featureSpecHash: spec.specHash,
                            architecture: cold.architecture, autoencoder: cold.autoencoder, classifier: classifier,
                            metrics: cold.metrics)
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return -1 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func micros(_ seconds: Double) -> String { String(format: "%.1f µs", seconds * 1e6) }
}
