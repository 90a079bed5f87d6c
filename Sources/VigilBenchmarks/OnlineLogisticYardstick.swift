// The quality yardstick: a textbook per-label online logistic regression over the same dense
// features Vigil's models see, learning from the same labels at the same moments.
import Foundation
import VigilML
import VigilReplay

/// Logistic regression trained by SGD, one step per label as it arrives, on features
/// standardised with running means and variances of the traffic scored so far (Welford).
/// Every event is scored before any label of its own (or later) is seen: the same
/// test-then-train order the replay keeps.
struct OnlineLogisticYardstick {
    let width: Int
    let learningRate: Float
    private var weights: [Float]
    private var bias: Float = 0
    private var seen = 0.0
    private var mean: [Double]
    private var m2: [Double]
    /// Every event's standardised row as it was scored, so a label joins to what was scored.
    private var scoredRows: [Float]
    /// Every event's score (the fraud probability when it was scored).
    private(set) var scores: [Float]

    init(width: Int, events: Int, learningRate: Float) {
        self.width = width
        self.learningRate = learningRate
        weights = [Float](repeating: 0, count: width)
        mean = [Double](repeating: 0, count: width)
        m2 = [Double](repeating: 0, count: width)
        scoredRows = [Float](repeating: 0, count: events * width)
        scores = [Float](repeating: 0, count: events)
    }

    /// Scores a batch (then folds it into the running standardisation), then learns from the
    /// labels released after it.
    mutating func process(_ batch: ReplayFeatureBatch) {
        precondition(batch.featureWidth == width, "feature width \(batch.featureWidth), expected \(width)")
        for (j, event) in batch.range.enumerated() {
            let x = batch.features[(j * width)..<((j + 1) * width)]
            for (f, v) in x.enumerated() {
                let sd = seen > 1 ? (m2[f] / (seen - 1)).squareRoot() : 0
                scoredRows[event * width + f] = sd > 1e-9 ? Float((Double(v) - mean[f]) / sd) : 0
            }
            scores[event] = probability(row: event)
        }
        for j in 0..<batch.range.count {
            seen += 1
            for f in 0..<width {
                let v = Double(batch.features[j * width + f])
                let delta = v - mean[f]
                mean[f] += delta / seen
                m2[f] += delta * (v - mean[f])
            }
        }
        for label in batch.labels { learn(row: label.event, isFraud: label.isFraud) }
    }

    private func probability(row: Int) -> Float {
        var z = bias
        for f in 0..<width { z += weights[f] * scoredRows[row * width + f] }
        return 1 / (1 + (-z).exp)
    }

    /// One SGD step on the log-loss of one label.
    private mutating func learn(row: Int, isFraud: Bool) {
        let g = (isFraud ? 1 : 0) - probability(row: row)
        for f in 0..<width { weights[f] += learningRate * g * scoredRows[row * width + f] }
        bias += learningRate * g
    }

    /// Runs the yardstick over `input` as a replay with `configuration` would see it.
    static func run(_ input: ReplayInput, configuration: ReplayConfiguration, learningRate: Float) throws -> [Float] {
        var model: OnlineLogisticYardstick?
        try ReplayFeatureStream.forEach(input, configuration: configuration) { batch in
            if model == nil { model = OnlineLogisticYardstick(width: batch.featureWidth, events: input.events.count, learningRate: learningRate) }
            model!.process(batch)
        }
        return model?.scores ?? []
    }
}

private extension Float {
    var exp: Float { Float(Foundation.exp(Double(self))) }
}
