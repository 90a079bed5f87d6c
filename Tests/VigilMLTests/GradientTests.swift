// Every analytic gradient against central finite differences (tolerances in TestSupport).
import Testing
@testable import VigilML

@Suite struct GradientTests {
    /// Loss = Σ c ⊙ layer(x) for fixed random c: its gradients are the backward pass with dA = c.
    @Test(arguments: Activation.allCases)
    func denseLayerBackwardMatchesFiniteDifferences(activation: Activation) {
        var g = SeededGenerator(seed: 11)
        var layer = DenseLayer(inputs: 5, outputs: 4, activation: activation, generator: &g)
        layer.bias = randomArray(4, seed: 12, scale: 0.3)
        let n = 3
        let x = randomArray(5 * n, seed: 13), c = randomArray(4 * n, seed: 14)
        func loss(_ l: DenseLayer, _ x: [Float]) -> Float { zip(l.forward(x, n: n), c).reduce(0) { $0 + $1.0 * $1.1 } }
        let grads = layer.backward(input: x, output: layer.forward(x, n: n), gradient: c, n: n, needInput: true)
        let idx = Array(0..<20)
        let dw = numericGradient(indices: idx) { i, e in var l = layer; l.weights[i] += e; return loss(l, x) }
        let db = numericGradient(indices: Array(0..<4)) { i, e in var l = layer; l.bias[i] += e; return loss(l, x) }
        let dx = numericGradient(indices: Array(0..<15)) { i, e in var xx = x; xx[i] += e; return loss(layer, xx) }
        #expect(relativeError(dw, grads.weights) < 2e-2)
        #expect(relativeError(db, grads.bias) < 2e-2)
        #expect(relativeError(dx, grads.input) < 2e-2)
    }

    @Test(arguments: [ClassificationLoss.weighted(positiveWeight: 3), .focal(gamma: 2, alpha: 0.75), .focal(gamma: 0.5, alpha: 0.3)])
    func classificationLossDerivativeMatchesFiniteDifferences(loss: ClassificationLoss) {
        for label: Float in [0, 1] {
            for z: Float in [-4, -1, -0.2, 0, 0.3, 2, 5] {
                let numeric = (loss.evaluate(logit: z + 1e-3, label: label).loss - loss.evaluate(logit: z - 1e-3, label: label).loss) / 2e-3
                let analytic = loss.evaluate(logit: z, label: label).gradient
                #expect(abs(numeric - analytic) < 2e-3 + 2e-2 * abs(analytic), "z \(z) y \(label)")
            }
        }
    }

    @Test(arguments: [false, true])
    func contrastiveLossGradientMatchesFiniteDifferences(withLabels: Bool) {
        let width = 4, n = 6
        let z = randomArray(width * 2 * n, seed: 21)
        let labels: [Int8]? = withLabels ? [0, 1, 0, -1, 1, 0] : nil
        let loss = ContrastiveLoss(margin: 0.8, hardNegatives: 2)
        let result = loss.evaluate(embeddings: z, width: width, n: n, labels: labels)
        #expect(result.activePairs > 0)
        let numeric = numericGradient(indices: Array(z.indices)) { i, e in
            var zz = z; zz[i] += e
            return loss.evaluate(embeddings: zz, width: width, n: n, labels: labels).loss
        }
        #expect(relativeError(numeric, result.gradient) < 2e-2)
    }

    @Test func labelsExcludeSameLabelNegatives() {
        // Two events with the same known label and identical embeddings are not negatives.
        let z: [Float] = [1, 1, 1, 1]  // width 1, n 2: columns A0 A1 B0 B1
        let same = ContrastiveLoss(margin: 0.5, hardNegatives: 1).evaluate(embeddings: z, width: 1, n: 2, labels: [1, 1])
        let unknown = ContrastiveLoss(margin: 0.5, hardNegatives: 1).evaluate(embeddings: z, width: 1, n: 2, labels: nil)
        #expect(same.loss == 0)
        #expect(unknown.loss > 0)
    }

    @Test func autoencoderLossGradientsMatchFiniteDifferences() throws {
        var config = ContrastiveAutoencoder.Configuration(inputWidth: 6)
        config.encoderWidths = [5]
        config.embeddingWidth = 3
        config.decoderWidths = [5]
        config.contrastiveWeight = 0.5
        config.margin = 0.9
        config.hardNegatives = 2
        var model = try ContrastiveAutoencoder(configuration: config)
        for i in model.layers.indices { model.layers[i].bias = randomArray(model.layers[i].outputs, seed: UInt64(30 + i), scale: 0.2) }
        let n = 5
        let clean = randomArray(6 * n, seed: 31)
        let a = model.augment(clean), b = model.augment(clean)
        let labels: [Int8] = [0, 1, -1, 0, 1]
        let result = model.lossAndGradients(viewA: a, viewB: b, clean: clean, n: n, labels: labels)
        #expect(result.report.contrastive > 0)
        for layer in model.layers.indices {
            let idx = sampleIndices(model.layers[layer].weights.count, count: 15)
            let numeric = kinkTolerantNumericGradient(indices: idx, analytic: idx.map { result.gradients[layer].weights[$0] }) { i, e in
                var m = model; m.layers[layer].weights[i] += e
                return m.lossAndGradients(viewA: a, viewB: b, clean: clean, n: n, labels: labels).report.loss
            }
            #expect(relativeError(numeric, idx.map { result.gradients[layer].weights[$0] }) < 3e-2, "layer \(layer)")
            let numericBias = kinkTolerantNumericGradient(indices: Array(model.layers[layer].bias.indices), analytic: result.gradients[layer].bias) { i, e in
                var m = model; m.layers[layer].bias[i] += e
                return m.lossAndGradients(viewA: a, viewB: b, clean: clean, n: n, labels: labels).report.loss
            }
            #expect(relativeError(numericBias, result.gradients[layer].bias) < 3e-2, "bias \(layer): \(numericBias) vs \(result.gradients[layer].bias)")
        }
    }

    @Test(arguments: [ClassificationLoss.weighted(positiveWeight: 4), .standard])
    func classifierLossGradientsMatchFiniteDifferences(loss: ClassificationLoss) throws {
        var config = SparseClassifier.Configuration(denseWidth: 4)
        config.hashBuckets = 7
        config.bagWidth = 3
        config.hiddenWidths = [6, 5]
        config.loss = loss
        let model = try SparseClassifier(configuration: config)
        let n = 6
        let data = SyntheticData.fraudRule(count: n, width: 4, buckets: 7, seed: 41)
        let result = model.lossAndGradients(rows: data.rows, sparse: data.sparse, labels: data.labels, count: n, scale: 1)
        func lossOf(_ m: SparseClassifier) -> Float {
            m.lossAndGradients(rows: data.rows, sparse: data.sparse, labels: data.labels, count: n, scale: 1).loss
        }
        for layer in model.layers.indices {
            let idx = sampleIndices(model.layers[layer].weights.count, count: 15)
            let numeric = numericGradient(indices: idx) { i, e in var m = model; m.layers[layer].weights[i] += e; return lossOf(m) }
            #expect(relativeError(numeric, idx.map { result.gradients[layer].weights[$0] }) < 3e-2, "layer \(layer)")
        }
        // Embedding-bag rows: only the touched rows carry gradient.
        for (slot, row) in result.tableRows.enumerated() {
            let numeric = numericGradient(indices: Array(0..<3)) { k, e in var m = model; m.table[row * 3 + k] += e; return lossOf(m) }
            #expect(relativeError(numeric, Array(result.tableGradient[(slot * 3)..<(slot * 3 + 3)]), floor: 1e-4) < 3e-2)
        }
        // The scale multiplies gradients, not the reported loss.
        let scaled = model.lossAndGradients(rows: data.rows, sparse: data.sparse, labels: data.labels, count: n, scale: 8)
        #expect(scaled.loss == result.loss)
        #expect(relativeError(scaled.gradients[0].weights.map { $0 / 8 }, result.gradients[0].weights) < 1e-5)
    }
}
