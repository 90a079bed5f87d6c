// The contrastive autoencoder (unsupervised): training state with Float32 master weights.
import Foundation

/// An MLP encoder to a small embedding and a decoder back, trained on reconstruction MSE
/// plus λ × a contrastive margin loss between two augmented views with mined hard negatives.
///
/// This is the mutable training copy. Scoring uses an immutable `AnomalySnapshot` made by
/// `snapshot(precision:format:)`. Inputs are batch-major rows of `inputWidth` Float32 values,
/// roughly standardised (mean 0, unit scale) by the feature pipeline.
public struct ContrastiveAutoencoder: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Number of input features.
        public var inputWidth: Int
        /// Hidden widths of the encoder (ReLU). Default: [32].
        public var encoderWidths: [Int] = [32]
        /// Embedding size (linear output of the encoder). Default: 8.
        public var embeddingWidth: Int = 8
        /// Hidden widths of the decoder (ReLU). Default: [32].
        public var decoderWidths: [Int] = [32]
        /// λ, the weight of the contrastive term. Default: 0.1.
        public var contrastiveWeight: Float = 0.1
        /// Cosine-similarity margin between positive and hard negatives. Default: 0.5.
        public var margin: Float = 0.5
        /// Hard negatives mined per anchor. Default: 5.
        public var hardNegatives: Int = 5
        /// Standard deviation of Gaussian feature noise in each view. Default: 0.05.
        public var noiseStandardDeviation: Float = 0.05
        /// Probability that a feature is zeroed in a view. Default: 0.1.
        public var dropoutRate: Float = 0.1
        /// Weight of standardised reconstruction error in the score (the rest goes to the
        /// embedding distance). Default: 0.8 — on our synthetic mixtures the diagonal
        /// embedding distance alone ranks a planted cluster little better than chance, while
        /// reconstruction error ranks it almost perfectly; the distance is a tie-breaker.
        public var reconstructionScoreWeight: Float = 0.8
        /// Optimiser settings. Default: Adam, learning rate 0.001.
        public var optimizer = AdamConfiguration()
        /// Seed for initialisation and augmentation. Default: 1.
        public var seed: UInt64 = 1

        public init(inputWidth: Int) { self.inputWidth = inputWidth }

        /// Layer widths from input to reconstruction.
        public var widths: [Int] { [inputWidth] + encoderWidths + [embeddingWidth] + decoderWidths + [inputWidth] }

        func validate() throws {
            guard inputWidth > 0, embeddingWidth > 0, (encoderWidths + decoderWidths).allSatisfy({ $0 > 0 }) else {
                throw MLError(.invalidConfiguration, "all widths must be positive: \(widths)")
            }
            guard hardNegatives > 0, margin >= 0, contrastiveWeight >= 0, (0..<1).contains(dropoutRate),
                  noiseStandardDeviation >= 0, (0...1).contains(reconstructionScoreWeight),
                  optimizer.learningRate > 0 else {
                throw MLError(.invalidConfiguration, "hyper-parameter out of range in \(self)")
            }
        }
    }

    /// Losses of one training step (averages over the batch).
    public struct StepReport: Sendable, Equatable {
        public var loss: Float
        public var reconstruction: Float
        public var contrastive: Float
    }

    public let configuration: Configuration
    var layers: [DenseLayer]
    var weightMoments: [AdamState]
    var biasMoments: [AdamState]
    var generator: SeededGenerator
    /// Statistics of normal traffic that turn errors and distances into standard scores.
    public internal(set) var normalRegion: NormalRegion?
    /// Training steps applied so far (including warm-start history loaded from a file).
    public internal(set) var steps: Int = 0

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        var g = SeededGenerator(seed: configuration.seed)
        let widths = configuration.widths
        let encoderCount = configuration.encoderWidths.count + 1
        layers = (0..<(widths.count - 1)).map { i in
            let isOutput = i == encoderCount - 1 || i == widths.count - 2
            return DenseLayer(inputs: widths[i], outputs: widths[i + 1], activation: isOutput ? .identity : .relu, generator: &g)
        }
        weightMoments = layers.map { AdamState(count: $0.weights.count) }
        biasMoments = layers.map { AdamState(count: $0.bias.count) }
        generator = g
    }

    var encoderCount: Int { configuration.encoderWidths.count + 1 }

    /// One mini-batch step on `count` batch-major rows. `labels` (−1 unknown, 0 legit,
    /// 1 fraud) refine negative mining when given. Weights are unchanged if the step fails.
    @discardableResult
    public mutating func train(rows: [Float], count n: Int, labels: [Int8]? = nil) throws -> StepReport {
        try SubnormalFlushing.run { try trainStep(rows: rows, count: n, labels: labels) }
    }

    private mutating func trainStep(rows: [Float], count n: Int, labels: [Int8]? = nil) throws -> StepReport {
        let d = configuration.inputWidth
        try InputValidation.check(rows: rows, count: n, width: d)
        guard n >= 2 else { throw MLError(.shapeMismatch, "a contrastive step needs at least 2 rows, got \(n)") }
        if let labels, labels.count != n { throw MLError(.shapeMismatch, "\(labels.count) labels for \(n) rows") }
        var clean = [Float](repeating: 0, count: d * n)
        for j in 0..<n { for f in 0..<d { clean[f * n + j] = rows[j * d + f] } }
        let viewA = augment(clean)
        let viewB = augment(clean)
        let result = lossAndGradients(viewA: viewA, viewB: viewB, clean: clean, n: n, labels: labels)
        guard result.report.loss.isFinite,
              result.gradients.allSatisfy({ $0.weights.allSatisfy(\.isFinite) && $0.bias.allSatisfy(\.isFinite) }) else {
            throw MLError(.trainingDiverged, "non-finite loss or gradient at step \(steps); weights left unchanged")
        }
        var updated = layers
        for i in updated.indices {
            weightMoments[i].update(&updated[i].weights, gradient: result.gradients[i].weights, mask: nil, config: configuration.optimizer)
            biasMoments[i].update(&updated[i].bias, gradient: result.gradients[i].bias, mask: nil, config: configuration.optimizer)
        }
        guard updated.allSatisfy(\.isFinite) else {
            throw MLError(.trainingDiverged, "non-finite weight after step \(steps); weights left unchanged")
        }
        layers = updated
        steps += 1
        return result.report
    }

    /// Feature noise plus dropout, drawn from the model's own generator (reproducible).
    mutating func augment(_ clean: [Float]) -> [Float] {
        var view = clean
        let sd = configuration.noiseStandardDeviation, p = configuration.dropoutRate
        var i = 0
        while i < view.count {
            let (a, b) = generator.nextNormalPair()
            view[i] = p > 0 && generator.nextUnit() < p ? 0 : view[i] + sd * a
            if i + 1 < view.count { view[i + 1] = p > 0 && generator.nextUnit() < p ? 0 : view[i + 1] + sd * b }
            i += 2
        }
        return view
    }

    struct LossResult {
        var report: StepReport
        var gradients: [DenseLayer.Gradients]
    }

    /// Loss and gradients for fixed views (feature-major d×n each). Both views pass through
    /// encoder and decoder as one 2n-column batch; both reconstruct the clean input.
    func lossAndGradients(viewA: [Float], viewB: [Float], clean: [Float], n: Int, labels: [Int8]?) -> LossResult {
        let d = configuration.inputWidth, cols = 2 * n
        var x = [Float](repeating: 0, count: d * cols)
        for f in 0..<d {
            for j in 0..<n {
                x[f * cols + j] = viewA[f * n + j]
                x[f * cols + n + j] = viewB[f * n + j]
            }
        }
        var activations = [x]
        for layer in layers { activations.append(layer.forward(activations.last!, n: cols)) }
        let reconstruction = activations.last!
        let scale = 1 / Float(cols * d)
        var rec: Float = 0
        var grad = [Float](repeating: 0, count: d * cols)
        for f in 0..<d {
            for j in 0..<cols {
                let diff = reconstruction[f * cols + j] - clean[f * n + (j % n)]
                rec += diff * diff * scale
                grad[f * cols + j] = 2 * diff * scale
            }
        }
        let contrastive = ContrastiveLoss(margin: configuration.margin, hardNegatives: configuration.hardNegatives)
            .evaluate(embeddings: activations[encoderCount], width: configuration.embeddingWidth, n: n, labels: labels)
        let lambda = configuration.contrastiveWeight
        var gradients = [DenseLayer.Gradients?](repeating: nil, count: layers.count)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            if i == encoderCount - 1 {
                for k in grad.indices { grad[k] += lambda * contrastive.gradient[k] }
            }
            let g = layers[i].backward(input: activations[i], output: activations[i + 1], gradient: grad, n: cols, needInput: i > 0)
            grad = g.input
            gradients[i] = g
        }
        let report = StepReport(loss: rec + lambda * contrastive.loss, reconstruction: rec, contrastive: contrastive.loss)
        return LossResult(report: report, gradients: gradients.map { $0! })
    }

    /// Learns where normal traffic lives: error and embedding statistics over `count`
    /// batch-major rows of (mostly) legitimate events. Needed before `snapshot`.
    public mutating func fitNormalRegion(rows: [Float], count n: Int) throws {
        try SubnormalFlushing.run { try fitNormalRegionFlushed(rows: rows, count: n) }
    }

    private mutating func fitNormalRegionFlushed(rows: [Float], count n: Int) throws {
        try InputValidation.check(rows: rows, count: n, width: configuration.inputWidth)
        guard n >= 2 else { throw MLError(.shapeMismatch, "need at least 2 rows to fit the normal region") }
        normalRegion = NormalRegion.fit(layers: layers, encoderCount: encoderCount, rows: rows, count: n)
    }

    /// An immutable copy for scoring, with weights stored in `precision`.
    public func snapshot(precision: WeightPrecision = .float32, format: LayerFormat = .standard) throws -> AnomalySnapshot {
        guard let normalRegion else {
            throw MLError(.notReady, "fit the normal region before publishing the autoencoder")
        }
        return AnomalySnapshot(
            configuration: configuration,
            layers: layers.map { $0.packed(precision: precision, format: format) },
            encoderCount: encoderCount, normalRegion: normalRegion)
    }
}
