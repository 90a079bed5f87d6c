// The published, immutable autoencoder used on the scoring path.

/// A frozen contrastive autoencoder: scores events, returns embeddings and per-feature
/// reconstruction errors (the reasons). Safe to share between threads; each thread brings
/// its own `ScoringWorkspace`.
public final class AnomalySnapshot: Sendable {
    public let configuration: ContrastiveAutoencoder.Configuration
    let layers: [PackedLayer]
    let encoderCount: Int
    public let normalRegion: NormalRegion

    init(configuration: ContrastiveAutoencoder.Configuration, layers: [PackedLayer], encoderCount: Int, normalRegion: NormalRegion) {
        self.configuration = configuration
        self.layers = layers
        self.encoderCount = encoderCount
        self.normalRegion = normalRegion
    }

    public var inputWidth: Int { configuration.inputWidth }
    public var embeddingWidth: Int { configuration.embeddingWidth }
    /// Bytes of weights (and sparse indices) held for scoring.
    public var weightBytes: Int { layers.reduce(0) { $0 + $1.byteCount + $1.bias.count * 4 } }

    /// Scores `count` batch-major rows (count × inputWidth).
    ///
    /// - scores: `count` anomaly scores (standard-score units; about 0 for normal traffic).
    /// - embeddings: if given, count × embeddingWidth batch-major.
    /// - featureErrors: if given, count × inputWidth: each feature's squared reconstruction
    ///   error divided by its mean on normal traffic (1 ≈ normal; large = the reason).
    /// Throws `.nonFiniteInput`, `.inputOutOfRange` or `.shapeMismatch` before writing anything.
    func score(rows: UnsafeBufferPointer<Float>, count n: Int, scores: UnsafeMutableBufferPointer<Float>,
                      embeddings: UnsafeMutableBufferPointer<Float>? = nil,
                      featureErrors: UnsafeMutableBufferPointer<Float>? = nil,
                      workspace: ScoringWorkspace) throws {
        try SubnormalFlushing.run { try scoreFlushed(rows: rows, count: n, scores: scores, embeddings: embeddings, featureErrors: featureErrors, workspace: workspace) }
    }

    /// The same over Swift arrays: the first `count` rows of `rows` into the first `count`
    /// scores, with their embeddings (count × embeddingWidth) and, when `featureErrors` is
    /// not empty, their per-feature error ratios (count × inputWidth).
    public func score(rows: [Float], count n: Int, scores: inout [Float], embeddings: inout [Float],
                      featureErrors: inout [Float], workspace: ScoringWorkspace) throws {
        guard rows.count >= n * inputWidth, scores.count >= n, embeddings.count >= n * embeddingWidth,
              featureErrors.isEmpty || featureErrors.count >= n * inputWidth else {
            throw MLError(.shapeMismatch, "arrays too small for \(n) events")
        }
        let wantsErrors = !featureErrors.isEmpty
        try rows.withUnsafeBufferPointer { r in
            try scores.withUnsafeMutableBufferPointer { s in
                try embeddings.withUnsafeMutableBufferPointer { e in
                    try featureErrors.withUnsafeMutableBufferPointer { f in
                        try score(rows: UnsafeBufferPointer(rebasing: r[0..<(n * inputWidth)]), count: n, scores: s, embeddings: e,
                                  featureErrors: wantsErrors ? f : nil, workspace: workspace)
                    }
                }
            }
        }
    }

    /// The same for events `events` of batch-major `rows` (each inputWidth values), into
    /// `scores[events]`.
    public func score(rows: [Float], events: Range<Int>, into scores: inout [Float], workspace: ScoringWorkspace) throws {
        try withEventRows(rows, width: inputWidth, events: events, outputs: &scores) { r, s in
            try score(rows: r, count: events.count, scores: s, workspace: workspace)
        }
    }

    private func scoreFlushed(rows: UnsafeBufferPointer<Float>, count n: Int, scores: UnsafeMutableBufferPointer<Float>,
                              embeddings: UnsafeMutableBufferPointer<Float>? = nil,
                              featureErrors: UnsafeMutableBufferPointer<Float>? = nil,
                              workspace: ScoringWorkspace) throws {
        let d = inputWidth, e = embeddingWidth
        try InputValidation.check(rows: rows, count: n, width: d)
        guard scores.count >= n, (embeddings?.count ?? n * e) >= n * e, (featureErrors?.count ?? n * d) >= n * d else {
            throw MLError(.shapeMismatch, "output buffers too small for \(n) events")
        }
        guard n > 0 else { return }
        let x = workspace.buffer(.input, count: d * n)
        Transpose.toFeatureMajor(rows.baseAddress!, count: n, width: d, into: x)
        let embeddingOut = workspace.buffer(.embedding, count: e * n)
        scoreFeatureMajor(x, n: n, scores: scores.baseAddress!, embeddings: embeddingOut,
                          featureErrors: featureErrors?.baseAddress, workspace: workspace)
        try InputValidation.checkOutputs(scores.baseAddress!, count: n)
        if let embeddings { Transpose.toBatchMajor(embeddingOut, count: n, width: e, into: embeddings.baseAddress!) }
    }

    /// Convenience for tests and tools: allocates its outputs.
    public func score(rows: [Float], count n: Int, workspace: ScoringWorkspace = ScoringWorkspace()) throws -> [Float] {
        var out = [Float](repeating: 0, count: n)
        try rows.withUnsafeBufferPointer { r in
            try out.withUnsafeMutableBufferPointer { try score(rows: r, count: n, scores: $0, workspace: workspace) }
        }
        return out
    }

    /// Core path over validated feature-major input x (inputWidth×n). Writes embeddings
    /// feature-major (embeddingWidth×n) into `embeddings`, which must not alias workspace
    /// ping/pong buffers.
    func scoreFeatureMajor(_ x: UnsafePointer<Float>, n: Int, scores: UnsafeMutablePointer<Float>,
                           embeddings: UnsafeMutablePointer<Float>, featureErrors: UnsafeMutablePointer<Float>?,
                           workspace: ScoringWorkspace) {
        let d = inputWidth, e = embeddingWidth
        let encoded = workspace.forward(layers[0..<encoderCount], input: x, n: n)
        embeddings.update(from: encoded, count: e * n)
        let reconstruction = workspace.forward(layers[encoderCount...], input: embeddings, n: n)
        let region = normalRegion
        let w = configuration.reconstructionScoreWeight
        region.featureErrorMean.withUnsafeBufferPointer { fem in
            region.embeddingMean.withUnsafeBufferPointer { em in
                region.embeddingStd.withUnsafeBufferPointer { es in
                    // Accumulate per event across rows so every inner loop runs over the batch.
                    let err = workspace.buffer(.gradient, count: 2 * n)
                    let dist = err + n
                    err.update(repeating: 0, count: 2 * n)
                    for f in 0..<d {
                        let r = reconstruction + f * n, xi = x + f * n
                        let inverse = 1 / fem[f]
                        for j in 0..<n {
                            let diff = r[j] - xi[j]
                            err[j] += diff * diff
                        }
                        if let featureErrors {
                            for j in 0..<n {
                                let diff = r[j] - xi[j]
                                featureErrors[j * d + f] = diff * diff * inverse
                            }
                        }
                    }
                    for k in 0..<e {
                        let row = embeddings + k * n
                        let m = em[k], inv = 1 / es[k]
                        for j in 0..<n {
                            let z = (row[j] - m) * inv
                            dist[j] += z * z
                        }
                    }
                    let invD = 1 / Float(d), invE = 1 / Float(e)
                    for j in 0..<n {
                        let rec = (err[j] * invD - region.errorMean) / region.errorStd
                        let distance = ((dist[j] * invE).squareRoot() - region.distanceMean) / region.distanceStd
                        scores[j] = w * rec + (1 - w) * distance
                    }
                }
            }
        }
    }
}

/// Batch-major ⇄ feature-major copies at the public boundary.
///
/// Blocked by 16 events: the block's rows stay in L1 while each feature's 16 values are
/// written as one cache line (a naive loop writes every value to a different line).
@usableFromInline
enum Transpose {
    @inlinable
    static func toFeatureMajor(_ rows: UnsafePointer<Float>, count n: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        var block = 0
        while block < n {
            let end = min(block &+ 16, n)
            for f in 0..<width {
                let target = out + f &* n
                for j in block..<end { target[j] = rows[j &* width &+ f] }
            }
            block = end
        }
    }

    @inlinable
    static func toBatchMajor(_ columns: UnsafePointer<Float>, count n: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        var block = 0
        while block < n {
            let end = min(block &+ 16, n)
            for j in block..<end {
                let target = out + j &* width
                for f in 0..<width { target[f] = columns[f &* n &+ j] }
            }
            block = end
        }
    }
}
