// The supervised fraud classifier: training state with Float32 master weights.
import Foundation

/// An MLP over dense features and an embedding bag of hashed categorical inputs, pruned
/// progressively to a target sparsity, trained with half-precision gradients under dynamic
/// loss scaling, and calibrated on a holdout.
///
/// This is the mutable training copy; scoring uses `ClassifierSnapshot`. Dense inputs are
/// batch-major rows of `denseWidth` values (which may include the autoencoder's score and
/// embedding); labels are 0 (legitimate) or 1 (fraud).
public struct SparseClassifier: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Dense input features per event.
        public var denseWidth: Int
        /// Hash buckets of the sparse inputs; 0 means none. Default: 0.
        public var hashBuckets: Int = 0
        /// Width of each bucket's embedding (mean-pooled per event). Default: 8.
        public var bagWidth: Int = 8
        /// Hidden widths (ReLU). Default: [64, 32].
        public var hiddenWidths: [Int] = [64, 32]
        /// Default: focal loss, γ = 2, α = 0.75.
        public var loss: ClassificationLoss = .standard
        /// Pruning schedule for every layer but the output. Default: 70% by step 500.
        public var sparsity = SparsitySchedule()
        /// Keep gradients in Float16 with dynamic loss scaling. Default: true.
        public var halfPrecisionGradients = true
        /// Default: initial scale 1024, doubling after 200 clean steps.
        public var lossScaling = LossScaler.Configuration()
        /// Default: Adam, learning rate 0.003.
        public var optimizer = AdamConfiguration(learningRate: 3e-3)
        /// Seed for initialisation. Default: 1.
        public var seed: UInt64 = 1

        public init(denseWidth: Int) { self.denseWidth = denseWidth }

        /// Width of the first layer's input: dense features then the pooled embedding.
        public var inputWidth: Int { denseWidth + (hashBuckets > 0 ? bagWidth : 0) }
        public var widths: [Int] { [inputWidth] + hiddenWidths + [1] }

        func validate() throws {
            guard denseWidth > 0, hashBuckets >= 0, bagWidth > 0, hiddenWidths.allSatisfy({ $0 > 0 }),
                  optimizer.learningRate > 0 else {
                throw MLError(.invalidConfiguration, "classifier widths out of range: \(widths)")
            }
            try sparsity.validate()
        }
    }

    public struct StepReport: Sendable, Equatable {
        /// Mean loss of the batch (before scaling).
        public var loss: Float
        /// False when the step was skipped because a half-precision gradient overflowed.
        public var applied: Bool
        /// Loss scale after this step.
        public var lossScale: Float
        /// Fraction of prunable weights currently pruned.
        public var sparsity: Double
    }

    public let configuration: Configuration
    var layers: [DenseLayer]
    var table: [Float]
    var weightMoments: [AdamState]
    var biasMoments: [AdamState]
    var tableMoments: AdamState
    var sparsityStates: [SparsityState]
    public internal(set) var lossScaler: LossScaler
    public internal(set) var calibration = PlattCalibration.identity
    public internal(set) var steps = 0

    public init(configuration: Configuration) throws {
        try configuration.validate()
        self.configuration = configuration
        var g = SeededGenerator(seed: configuration.seed)
        let widths = configuration.widths
        layers = (0..<(widths.count - 1)).map { i in
            DenseLayer(inputs: widths[i], outputs: widths[i + 1], activation: i == widths.count - 2 ? .identity : .relu, generator: &g)
        }
        let tableCount = configuration.hashBuckets * configuration.bagWidth
        table = (0..<tableCount).map { _ in g.nextNormal() * 0.1 }
        weightMoments = layers.map { AdamState(count: $0.weights.count) }
        biasMoments = layers.map { AdamState(count: $0.bias.count) }
        tableMoments = AdamState(count: tableCount)
        sparsityStates = layers.dropLast().map { SparsityState(count: $0.weights.count) }
        lossScaler = LossScaler(configuration: configuration.lossScaling)
    }

    /// Fraction of prunable weights (all layers but the output) that are pruned.
    public var sparsity: Double {
        let prunable = layers.dropLast()
        let total = prunable.reduce(0) { $0 + $1.weights.count }
        let kept = prunable.reduce(0.0) { $0 + $1.density * Double($1.weights.count) }
        return total == 0 ? 0 : 1 - kept / Double(total)
    }

    func checkInputs(rows: [Float], sparse: SparseBatch?, count n: Int) throws {
        try InputValidation.check(rows: rows, count: n, width: configuration.denseWidth)
        if configuration.hashBuckets > 0 {
            guard let sparse else { throw MLError(.shapeMismatch, "this classifier needs sparse inputs") }
            try sparse.validate(count: n, buckets: configuration.hashBuckets)
        }
    }

    /// First-layer input, feature-major (inputWidth × n): dense rows, then mean-pooled embeddings.
    func inputColumns(rows: [Float], sparse: SparseBatch?, count n: Int) -> [Float] {
        let d = configuration.denseWidth, bw = configuration.bagWidth
        var x = [Float](repeating: 0, count: configuration.inputWidth * n)
        // Raw buffers (the shapes were checked by the callers): this runs for every training
        // step and every logits call, and bounds checks on three arrays dominated it.
        x.withUnsafeMutableBufferPointer { x in
            rows.withUnsafeBufferPointer { rows in
                for j in 0..<n { for f in 0..<d { x[f * n + j] = rows[j * d + f] } }
            }
            if configuration.hashBuckets > 0, let sparse {
                table.withUnsafeBufferPointer { table in
                    sparse.offsets.withUnsafeBufferPointer { offsets in
                        sparse.indices.withUnsafeBufferPointer { indices in
                            // Each event's bag is summed in a small local buffer, in entry
                            // order (the same sums), and written to its column once: summing
                            // in place went through memory a column stride apart every time.
                            withUnsafeTemporaryAllocation(of: Float.self, capacity: bw) { bag in
                                for j in 0..<n {
                                    let lo = Int(offsets[j]), hi = Int(offsets[j + 1])
                                    guard hi > lo else { continue }
                                    let inv = 1 / Float(hi - lo)
                                    for k in 0..<bw { bag[k] = 0 }
                                    for e in lo..<hi {
                                        let row = table.baseAddress! + Int(indices[e]) * bw
                                        for k in 0..<bw { bag[k] += row[k] * inv }
                                    }
                                    for k in 0..<bw { x[(d + k) * n + j] = bag[k] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return x
    }

    /// Raw logits from the Float32 master weights (mask applied).
    public func logits(rows: [Float], sparse: SparseBatch? = nil, count n: Int) throws -> [Float] {
        try SubnormalFlushing.run { try logitsFlushed(rows: rows, sparse: sparse, count: n) }
    }

    private func logitsFlushed(rows: [Float], sparse: SparseBatch? = nil, count n: Int) throws -> [Float] {
        try checkInputs(rows: rows, sparse: sparse, count: n)
        var a = inputColumns(rows: rows, sparse: sparse, count: n)
        for layer in layers { a = layer.forward(a, n: n) }
        return a
    }

    struct LossResult {
        var loss: Float
        var gradients: [DenseLayer.Gradients]
        /// Touched table rows and their gradients (rows.count × bagWidth).
        var tableRows: [Int]
        var tableGradient: [Float]
    }

    /// Mean loss and gradients of `scale` × loss.
    func lossAndGradients(rows: [Float], sparse: SparseBatch?, labels: [Float], count n: Int, scale: Float) -> LossResult {
        var activations = [inputColumns(rows: rows, sparse: sparse, count: n)]
        for layer in layers { activations.append(layer.forward(activations.last!, n: n)) }
        let logits = activations.last!
        var loss: Float = 0
        var grad = [Float](repeating: 0, count: n)
        for j in 0..<n {
            let (l, g) = configuration.loss.evaluate(logit: logits[j], label: labels[j])
            loss += l / Float(n)
            grad[j] = g * scale / Float(n)
        }
        var gradients = [DenseLayer.Gradients?](repeating: nil, count: layers.count)
        let bag = configuration.hashBuckets > 0
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let g = layers[i].backward(input: activations[i], output: activations[i + 1], gradient: grad, n: n, needInput: i > 0 || bag)
            grad = g.input
            gradients[i] = g
        }
        var tableRows: [Int] = []
        var tableGradient: [Float] = []
        if bag, let sparse {
            let d = configuration.denseWidth, bw = configuration.bagWidth
            var slots = FirstSeenIndex(capacity: sparse.indices.count)
            tableRows.reserveCapacity(sparse.indices.count)
            // Room for every entry being a new row; trimmed to the rows seen. Raw buffers:
            // this runs over every sparse entry of every step, same sums in the same order.
            tableGradient = [Float](repeating: 0, count: sparse.indices.count * bw)
            tableGradient.withUnsafeMutableBufferPointer { tg in
                grad.withUnsafeBufferPointer { g in
                    sparse.offsets.withUnsafeBufferPointer { offsets in
                        sparse.indices.withUnsafeBufferPointer { indices in
                            for j in 0..<n {
                                let lo = Int(offsets[j]), hi = Int(offsets[j + 1])
                                guard hi > lo else { continue }
                                let inv = 1 / Float(hi - lo)
                                for e in lo..<hi {
                                    let row = Int(indices[e])
                                    let (slot, isNew) = slots.number(of: row)
                                    if isNew { tableRows.append(row) }
                                    for k in 0..<bw { tg[slot * bw + k] += g[(d + k) * n + j] * inv }
                                }
                            }
                        }
                    }
                }
            }
            tableGradient.removeLast(tableGradient.count - tableRows.count * bw)
        }
        return LossResult(loss: loss, gradients: gradients.map { $0! }, tableRows: tableRows, tableGradient: tableGradient)
    }

    /// One mini-batch step. Rejects non-finite input; skips (and reports) the step when a
    /// half-precision gradient overflows; refreshes sparsity masks on schedule.
    @discardableResult
    public mutating func train(rows: [Float], sparse: SparseBatch? = nil, labels: [Float], count n: Int) throws -> StepReport {
        try SubnormalFlushing.run { try trainStep(rows: rows, sparse: sparse, labels: labels, count: n) }
    }

    /// One step towards soft targets in [0, 1] (distillation: a teacher's probabilities mixed
    /// with labels). Needs the weighted cross-entropy loss, which is defined for soft targets
    /// (the focal loss is not).
    @discardableResult
    public mutating func train(rows: [Float], sparse: SparseBatch? = nil, softTargets targets: [Float], count n: Int) throws -> StepReport {
        guard case .weighted = configuration.loss else {
            throw MLError(.shapeMismatch, "soft targets need the weighted cross-entropy loss")
        }
        return try SubnormalFlushing.run { try trainStep(rows: rows, sparse: sparse, labels: targets, count: n, soft: true) }
    }

    private mutating func trainStep(rows: [Float], sparse: SparseBatch? = nil, labels: [Float], count n: Int, soft: Bool = false) throws -> StepReport {
        try checkInputs(rows: rows, sparse: sparse, count: n)
        guard labels.count == n, labels.allSatisfy({ soft ? $0 >= 0 && $0 <= 1 : $0 == 0 || $0 == 1 }) else {
            throw MLError(.shapeMismatch, soft ? "need \(n) targets, each in [0, 1]" : "need \(n) labels, each 0 or 1")
        }
        guard n > 0 else { throw MLError(.shapeMismatch, "empty training batch") }
        let half = configuration.halfPrecisionGradients
        let scale = half ? lossScaler.scale : 1
        var result = lossAndGradients(rows: rows, sparse: sparse, labels: labels, count: n, scale: scale)
        guard result.loss.isFinite else {
            throw MLError(.trainingDiverged, "non-finite loss at step \(steps); weights left unchanged")
        }
        if half {
            // Round every gradient to Float16 as stored; any overflow skips the whole step.
            var clean = true
            for i in result.gradients.indices where clean {
                clean = LossScaler.roundTripThroughHalf(&result.gradients[i].weights, scale: scale)
                    && LossScaler.roundTripThroughHalf(&result.gradients[i].bias, scale: scale)
            }
            clean = clean && LossScaler.roundTripThroughHalf(&result.tableGradient, scale: scale)
            guard lossScaler.record(overflow: !clean) else {
                return StepReport(loss: result.loss, applied: false, lossScale: lossScaler.scale, sparsity: sparsity)
            }
        } else {
            let finite = result.gradients.allSatisfy { $0.weights.allSatisfy(\.isFinite) && $0.bias.allSatisfy(\.isFinite) }
            guard finite, result.tableGradient.allSatisfy(\.isFinite) else {
                throw MLError(.trainingDiverged, "non-finite gradient at step \(steps); weights left unchanged")
            }
        }
        // The embedding table (hash buckets × bag width: megabytes) and its moments are
        // updated in place, outside the copy that makes the rest of the step all-or-nothing:
        // copying them every step cost most of a training round. A step touches only its
        // batch's rows, so those are saved first and put back if the step fails.
        var table: [Float] = [], tableMoments = AdamState(count: 0)
        swap(&table, &self.table)
        swap(&tableMoments, &self.tableMoments)
        var updated = self
        let bw = configuration.bagWidth
        let saved = tableMoments.save(rows: result.tableRows, width: bw, params: table)
        func putTableBack() {
            tableMoments.restore(saved, params: &table)
            swap(&table, &self.table)
            swap(&tableMoments, &self.tableMoments)
        }
        for i in updated.sparsityStates.indices {
            updated.sparsityStates[i].accumulate(weights: layers[i].weights, gradient: result.gradients[i].weights)
        }
        let opt = configuration.optimizer
        for i in updated.layers.indices {
            let mask = updated.layers[i].mask
            updated.weightMoments[i].update(&updated.layers[i].weights, gradient: result.gradients[i].weights, mask: mask, config: opt)
            updated.biasMoments[i].update(&updated.layers[i].bias, gradient: result.gradients[i].bias, mask: nil, config: opt)
        }
        if !result.tableRows.isEmpty {
            tableMoments.update(&table, gradient: result.tableGradient, rows: result.tableRows, width: bw, config: opt)
        }
        updated.steps += 1
        let schedule = configuration.sparsity
        if schedule.refreshes(at: updated.steps) {
            let s = schedule.sparsity(at: updated.steps)
            for i in updated.sparsityStates.indices {
                let grown = updated.sparsityStates[i].refresh(&updated.layers[i], sparsity: s, regrowFraction: schedule.regrowFraction)
                updated.weightMoments[i].reset(at: grown)
            }
        }
        // Untouched rows did not change, so checking the touched ones keeps the table finite.
        let tableFinite = result.tableRows.allSatisfy { row in (0..<bw).allSatisfy { table[row * bw + $0].isFinite } }
        guard updated.layers.allSatisfy(\.isFinite), tableFinite else {
            putTableBack()
            throw MLError(.trainingDiverged, "non-finite weight after step \(steps); weights left unchanged")
        }
        swap(&table, &updated.table)
        swap(&tableMoments, &updated.tableMoments)
        self = updated
        return StepReport(loss: result.loss, applied: true, lossScale: lossScaler.scale, sparsity: sparsity)
    }

    /// Fits the probability calibration on raw logits the model gave examples before it
    /// learnt from them (a prequential record), so no holdout is needed.
    public mutating func calibrate(logits: [Float], labels: [Float]) {
        precondition(logits.count == labels.count, "one label per logit")
        calibration = PlattCalibration.fit(logits: logits, labels: labels, startingFrom: calibration)
    }

    /// Fits the probability calibration on a holdout the model was not trained on.
    public mutating func calibrate(rows: [Float], sparse: SparseBatch? = nil, labels: [Float], count n: Int) throws {
        try SubnormalFlushing.run { try calibrateFlushed(rows: rows, sparse: sparse, labels: labels, count: n) }
    }

    private mutating func calibrateFlushed(rows: [Float], sparse: SparseBatch? = nil, labels: [Float], count n: Int) throws {
        guard labels.count == n else { throw MLError(.shapeMismatch, "need \(n) labels") }
        calibration = PlattCalibration.fit(logits: try logits(rows: rows, sparse: sparse, count: n), labels: labels)
    }

    /// An immutable copy for scoring with weights stored in `precision`, pruned layers as
    /// CSR according to `format`.
    public func snapshot(precision: WeightPrecision = .float16, format: LayerFormat = .standard) -> ClassifierSnapshot {
        ClassifierSnapshot(
            configuration: configuration,
            layers: layers.map { $0.packed(precision: precision, format: format) },
            table: precision == .float32 ? .float32(table) : .float16(HalfPrecision.narrow(table)),
            calibration: calibration)
    }
}
