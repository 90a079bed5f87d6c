// The published, immutable classifier used on the scoring path.

/// A frozen sparse classifier: calibrated fraud probabilities and per-feature
/// contributions. Weights are Float32 or Float16 (pruned layers as CSR); arithmetic is
/// Float32. Safe to share between threads; each thread brings its own `ScoringWorkspace`.
public final class ClassifierSnapshot: Sendable {
    public enum EmbeddingTable: Sendable, Equatable {
        case float32([Float])
        case float16([Float16])
    }

    public let configuration: SparseClassifier.Configuration
    let layers: [PackedLayer]
    let table: EmbeddingTable
    public let calibration: PlattCalibration

    init(configuration: SparseClassifier.Configuration, layers: [PackedLayer], table: EmbeddingTable, calibration: PlattCalibration) {
        self.configuration = configuration
        self.layers = layers
        self.table = table
        self.calibration = calibration
    }

    public var denseWidth: Int { configuration.denseWidth }

    /// Bytes of weights, sparse indices, biases and the embedding table.
    public var weightBytes: Int {
        let tableBytes: Int
        switch table {
        case .float32(let t): tableBytes = t.count * 4
        case .float16(let t): tableBytes = t.count * 2
        }
        return layers.reduce(tableBytes) { $0 + $1.byteCount + $1.bias.count * 4 }
    }

    /// Calibrated fraud probabilities for `count` batch-major rows (count × denseWidth).
    func score(rows: UnsafeBufferPointer<Float>, sparse: SparseBatch? = nil, count n: Int,
                      probabilities: UnsafeMutableBufferPointer<Float>, workspace: ScoringWorkspace) throws {
        try SubnormalFlushing.run { try scoreFlushed(rows: rows, sparse: sparse, count: n, probabilities: probabilities, workspace: workspace) }
    }

    /// The same for events `events` of batch-major `rows` (each denseWidth values; `sparse`
    /// holds those events' sparse inputs), into `probabilities[events]`.
    public func score(rows: [Float], sparse: SparseBatch? = nil, events: Range<Int>, into probabilities: inout [Float],
                      workspace: ScoringWorkspace) throws {
        try withEventRows(rows, width: denseWidth, events: events, outputs: &probabilities) { r, p in
            try score(rows: r, sparse: sparse, count: events.count, probabilities: p, workspace: workspace)
        }
    }

    private func scoreFlushed(rows: UnsafeBufferPointer<Float>, sparse: SparseBatch? = nil, count n: Int,
                              probabilities: UnsafeMutableBufferPointer<Float>, workspace: ScoringWorkspace) throws {
        try validate(rows: rows, sparse: sparse, count: n)
        guard probabilities.count >= n else { throw MLError(.shapeMismatch, "output buffer too small for \(n) events") }
        guard n > 0 else { return }
        let x = workspace.buffer(.classifierInput, count: configuration.inputWidth * n)
        Transpose.toFeatureMajor(rows.baseAddress!, count: n, width: denseWidth, into: x)
        scoreFeatureMajor(x, sparse: sparse, n: n, probabilities: probabilities.baseAddress!, workspace: workspace)
        try InputValidation.checkOutputs(probabilities.baseAddress!, count: n)
    }

    /// Convenience for tests and tools: allocates its output.
    public func score(rows: [Float], sparse: SparseBatch? = nil, count n: Int,
                      workspace: ScoringWorkspace = ScoringWorkspace()) throws -> [Float] {
        var out = [Float](repeating: 0, count: n)
        try rows.withUnsafeBufferPointer { r in
            try out.withUnsafeMutableBufferPointer { try score(rows: r, sparse: sparse, count: n, probabilities: $0, workspace: workspace) }
        }
        return out
    }

    func validate(rows: UnsafeBufferPointer<Float>, sparse: SparseBatch?, count n: Int) throws {
        try InputValidation.check(rows: rows, count: n, width: denseWidth)
        if configuration.hashBuckets > 0 {
            guard let sparse else { throw MLError(.shapeMismatch, "this classifier needs sparse inputs") }
            try sparse.validate(count: n, buckets: configuration.hashBuckets)
        }
    }

    /// Core path: x is inputWidth×n feature-major with the dense rows already filled; the
    /// pooled embedding rows are written here. Writes raw logits to `logits` if given.
    func scoreFeatureMajor(_ x: UnsafeMutablePointer<Float>, sparse: SparseBatch?, n: Int,
                           probabilities: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>? = nil,
                           workspace: ScoringWorkspace) {
        if configuration.hashBuckets > 0, let sparse { pool(sparse, n: n, into: x + denseWidth * n) }
        let out = workspace.forward(layers[...], input: x, n: n)
        for j in 0..<n {
            logits?[j] = out[j]
            probabilities[j] = calibration.probability(logit: out[j])
        }
    }

    /// Mean of each event's active embedding rows into bagWidth×n (feature-major).
    private func pool(_ sparse: SparseBatch, n: Int, into bag: UnsafeMutablePointer<Float>) {
        let bw = configuration.bagWidth
        bag.update(repeating: 0, count: bw * n)
        sparse.offsets.withUnsafeBufferPointer { off in
            sparse.indices.withUnsafeBufferPointer { idx in
                switch table {
                case .float32(let t):
                    t.withUnsafeBufferPointer { tp in
                        for j in 0..<n {
                            let lo = Int(off[j]), hi = Int(off[j + 1])
                            guard hi > lo else { continue }
                            let inv = 1 / Float(hi - lo)
                            for e in lo..<hi {
                                let row = tp.baseAddress! + Int(idx[e]) * bw
                                for k in 0..<bw { bag[k * n + j] += row[k] * inv }
                            }
                        }
                    }
                case .float16(let t):
                    HalfPrecision.table.withUnsafeBufferPointer { widen in
                        t.withUnsafeBufferPointer { tp in
                            for j in 0..<n {
                                let lo = Int(off[j]), hi = Int(off[j + 1])
                                guard hi > lo else { continue }
                                let inv = 1 / Float(hi - lo)
                                for e in lo..<hi {
                                    let row = tp.baseAddress! + Int(idx[e]) * bw
                                    for k in 0..<bw { bag[k * n + j] += widen[Int(row[k].bitPattern)] * inv }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Gradient × input of the logit for each dense feature of one event: how much each
    /// feature pushed the score up (positive) or down. Sums to roughly the logit minus
    /// the logit at a zero input for near-linear regions (exactly, for a linear model).
    /// Length denseWidth. Allocates a few small arrays: meant for the events that are
    /// reviewed or blocked, not for every event.
    public func contributions(row: [Float], sparseIndices: [Int32] = [], workspace: ScoringWorkspace = ScoringWorkspace()) throws -> [Float] {
        let sparse = configuration.hashBuckets > 0 ? SparseBatch(lists: [sparseIndices]) : nil
        try row.withUnsafeBufferPointer { try validate(rows: $0, sparse: sparse, count: 1) }
        let width = configuration.inputWidth
        // Keep every layer's output for the backward pass (one event: tiny).
        var activations: [[Float]] = [[Float](repeating: 0, count: width)]
        activations[0].withUnsafeMutableBufferPointer { x in
            for f in 0..<denseWidth { x[f] = row[f] }
            if let sparse { pool(sparse, n: 1, into: x.baseAddress! + denseWidth) }
        }
        let scratch = workspace.buffer(.scratch, count: max(layers.map { $0.scratchCount(events: 1) }.max() ?? 1, 1))
        for layer in layers {
            var out = [Float](repeating: 0, count: layer.outputs)
            activations.last!.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { layer.forward(x.baseAddress!, n: 1, into: $0.baseAddress!, scratch: scratch) }
            }
            activations.append(out)
        }
        var gradient: [Float] = [1]
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            var dInput = [Float](repeating: 0, count: layers[i].inputs)
            activations[i + 1].withUnsafeBufferPointer { a in
                gradient.withUnsafeMutableBufferPointer { g in
                    dInput.withUnsafeMutableBufferPointer { layers[i].backwardInput(g.baseAddress!, output: a.baseAddress!, into: $0.baseAddress!) }
                }
            }
            gradient = dInput
        }
        return (0..<denseWidth).map { gradient[$0] * row[$0] }
    }
}
