import Testing
@testable import VigilML

/// INT8 scoring against Float32 on fixed inputs. Stated tolerances (docs/engine.md,
/// "Compression"): classifier probabilities within 0.15 of Float32 per event and 0.01 on
/// average (the largest differences sit on the steep part of the calibrated curve, at the
/// decision boundary); autoencoder scores within 1 standard-score unit plus 2% of the score;
/// ranking quality (average precision) at least 99% of Float32's. Past the calibrated range
/// the codes clamp: there a probability stays a probability on the same side of 0.5 when
/// Float32's is decisive, and an autoencoder score stays an extreme anomaly (within a factor
/// of 2 of Float32's).
@Suite struct Int8Tests {
    static func layerInputs(_ inputs: Int, _ n: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<(inputs * n)).map { i in
            // A non-negative half (as after ReLU) and a signed half, of different spreads.
            let f = i / n
            let v = Float(g.nextUnit() * 2 - 1) * Float(1 + f % 3)
            return f % 2 == 0 ? abs(v) : v
        }
    }

    static func forward(_ layer: PackedLayer, _ x: [Float], n: Int, kernel: Int8Kernel? = nil) -> [Float] {
        var out = [Float](repeating: 0, count: layer.outputs * n)
        var scratch = [Float](repeating: 0, count: max(layer.scratchCount(events: n), 1))
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { o in
                scratch.withUnsafeMutableBufferPointer { s in
                    if let kernel, case .int8(let m) = layer.storage {
                        layer.bias.withUnsafeBufferPointer { b in
                            s.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: m.codeBytes(events: n)) { codes in
                                m.forward(xp.baseAddress!, n: n, bias: b.baseAddress!, relu: layer.activation == .relu,
                                          into: o.baseAddress!, codes: codes, kernel: kernel)
                            }
                        }
                    } else {
                        layer.forward(xp.baseAddress!, n: n, into: o.baseAddress!, scratch: s.baseAddress!)
                    }
                }
            }
        }
        return out
    }

    /// Shapes of both models' layers, odd widths (padding to groups of 4), the single event,
    /// a partial 16-event vector and more than one 64-event tile.
    /// Skipped on a CPU without AVX-512 VNNI (there is nothing to compare the portable kernel with).
    @Test(.enabled(if: Int8Kernel.avx512VNNI.isSupported, "AVX-512 VNNI on this CPU"),
          arguments: [(44, 64, 1), (41, 64, 70), (64, 32, 17), (32, 1, 130), (10, 6, 5), (3, 5, 64)])
    func vnniAndPortableKernelsGiveIdenticalResults(inputs: Int, outputs: Int, n: Int) throws {
        let w = randomArray(inputs * outputs, seed: 11), b = randomArray(outputs, seed: 12)
        let x = Self.layerInputs(inputs, n, seed: 13)
        var ranges = ActivationRanges(width: inputs)
        x.withUnsafeBufferPointer { ranges.observe($0.baseAddress!, n: n) }
        for activation in [Activation.relu, .identity] {
            let layer = PackedLayer(weights: w, bias: b, inputs: inputs, outputs: outputs, activation: activation, mask: nil, ranges: ranges)
            let portable = Self.forward(layer, x, n: n, kernel: .portable)
            let vnni = Self.forward(layer, x, n: n, kernel: .avx512VNNI)
            #expect(portable.map(\.bitPattern) == vnni.map(\.bitPattern))
        }
    }

    @Test func int8LayerStaysWithinItsQuantisationErrorOfFloat32() {
        let inputs = 41, outputs = 64, n = 200
        let w = randomArray(inputs * outputs, seed: 21), b = randomArray(outputs, seed: 22)
        let x = Self.layerInputs(inputs, n, seed: 23)
        var ranges = ActivationRanges(width: inputs)
        x.withUnsafeBufferPointer { ranges.observe($0.baseAddress!, n: n) }
        let f32 = PackedLayer(weights: w, bias: b, inputs: inputs, outputs: outputs, activation: .identity, mask: nil,
                              precision: .float32, format: .dense)
        let q8 = PackedLayer(weights: w, bias: b, inputs: inputs, outputs: outputs, activation: .identity, mask: nil, ranges: ranges)
        let reference = Self.forward(f32, x, n: n), quantised = Self.forward(q8, x, n: n)
        // Per output: at most half a code of every input times |w| plus half a weight step times |x|.
        for o in 0..<outputs {
            var bound: Float = 0
            for i in 0..<inputs {
                let s = max(-ranges.lower[i], ranges.upper[i]) / (ranges.lower[i] < 0 ? 127 : 255)
                bound += abs(w[o * inputs + i]) * s / 2
            }
            let rowMax = (0..<inputs).map { abs(w[o * inputs + $0]) * max(-ranges.lower[$0], ranges.upper[$0]) }.max()!
            bound += rowMax / 127 / 2 * Float(inputs)
            bound *= Int8Matrix.headroom
            for j in 0..<n { #expect(abs(quantised[o * n + j] - reference[o * n + j]) <= bound * 1.01) }
        }
        #expect(q8.byteCount < f32.byteCount / 2)
    }

    @Test func classifierProbabilitiesStayWithinToleranceIncludingExtremes() throws {
        let model = try ClassifierTests.trained()
        let calibration = SyntheticData.fraudRule(count: 1024, width: 6, buckets: 32, riskyBuckets: 2, seed: 5)
        let int8 = try model.quantizedSnapshot(calibration: calibration.rows, sparse: calibration.sparse, count: 1024)
        let float32 = model.snapshot(precision: .float32, format: .dense)
        let test = SyntheticData.fraudRule(count: 1000, width: 6, buckets: 32, riskyBuckets: 2, seed: 3)
        let p8 = try int8.score(rows: test.rows, sparse: test.sparse, count: 1000)
        let p32 = try float32.score(rows: test.rows, sparse: test.sparse, count: 1000)
        let labels = test.labels.map { $0 == 1 }
        let maxDiff = maxAbsDifference(p8, p32), meanDiff = zip(p8, p32).map { abs($0 - $1) }.reduce(0, +) / 1000
        let ap8 = RankingMetrics.averagePrecision(scores: p8, labels: labels), ap32 = RankingMetrics.averagePrecision(scores: p32, labels: labels)
        print("int8 classifier: max |Δp| \(maxDiff), mean \(meanDiff), AUPRC \(ap8) vs \(ap32)")
        #expect(maxDiff < 0.15)
        #expect(meanDiff < 0.01)
        #expect(ap8 >= 0.99 * ap32)
        // One event at a time scores as in a batch.
        let single = try int8.score(rows: Array(test.rows[0..<6]), sparse: SparseBatch(lists: [Array(test.sparse.indices[Int(test.sparse.offsets[0])..<Int(test.sparse.offsets[1])])]), count: 1)
        #expect(single[0] == p8[0])
        // Zeros, no sparse indices: inside the calibrated range.
        let zeros = [Float](repeating: 0, count: 6)
        let z8 = try int8.score(rows: zeros, sparse: SparseBatch(lists: [[]]), count: 1)[0]
        let z32 = try float32.score(rows: zeros, sparse: SparseBatch(lists: [[]]), count: 1)[0]
        #expect(abs(z8 - z32) < 0.15, "zeros: \(z8) vs \(z32)")
        // Past the calibrated range (up to the largest accepted input): clamped codes.
        for value: Float in [50, -50, 1_048_575, -1_048_575] {
            let rows = [Float](repeating: value, count: 6)
            let e8 = try int8.score(rows: rows, sparse: SparseBatch(lists: [[0]]), count: 1)[0]
            let e32 = try float32.score(rows: rows, sparse: SparseBatch(lists: [[0]]), count: 1)[0]
            print("extreme \(value): int8 \(e8) float32 \(e32)")
            #expect(e8.isFinite && e8 >= 0 && e8 <= 1)
            if e32 > 0.99 || e32 < 0.01 { #expect((e8 >= 0.5) == (e32 >= 0.5), "\(value): \(e8) vs \(e32)") }
        }
        #expect(int8.weightBytes < model.snapshot(precision: .float32, format: .dense).weightBytes)
    }

    @Test func autoencoderScoresStayWithinToleranceIncludingExtremes() throws {
        let model = try AutoencoderTests.trained()
        let d = AutoencoderTests.width
        let calibration = SyntheticData.anomalyMixture(count: 1024, width: d, anomalyRate: 0.005, seed: 9)
        let int8 = try model.quantizedSnapshot(calibration: calibration.rows, count: 1024)
        let float32 = try model.snapshot(precision: .float32, format: .dense)
        let test = SyntheticData.anomalyMixture(count: 1000, width: d, anomalyRate: 0.02, seed: 2)
        let s8 = try int8.score(rows: test.rows, count: 1000), s32 = try float32.score(rows: test.rows, count: 1000)
        let normal = zip(s8, s32).enumerated().filter { !test.isAnomaly[$0.offset] }.map { abs($0.element.0 - $0.element.1) }
        print("int8 cae, normal events: max |Δ| \(normal.max()!), mean \(normal.reduce(0, +) / Float(normal.count))")
        let worst = zip(s8, s32).map { abs($0 - $1) - 0.02 * abs($1) }.max()!
        let ap8 = RankingMetrics.averagePrecision(scores: s8, labels: test.isAnomaly)
        let ap32 = RankingMetrics.averagePrecision(scores: s32, labels: test.isAnomaly)
        print("int8 cae: worst |Δ| - 2% \(worst), max |Δ| \(maxAbsDifference(s8, s32)), AUPRC \(ap8) vs \(ap32)")
        #expect(worst < 1)
        #expect(ap8 >= 0.99 * ap32)
        let zeros = [Float](repeating: 0, count: d)
        let z8 = try int8.score(rows: zeros, count: 1)[0], z32 = try float32.score(rows: zeros, count: 1)[0]
        #expect(abs(z8 - z32) < 1 + 0.02 * abs(z32), "zeros: \(z8) vs \(z32)")
        // Huge inputs: the reconstruction error is taken against the raw input, so the score
        // stays huge (an anomaly) even though the codes clamp.
        for value: Float in [100, -100, 1_048_575] {
            let rows = [Float](repeating: value, count: d)
            let e8 = try int8.score(rows: rows, count: 1)[0], e32 = try float32.score(rows: rows, count: 1)[0]
            print("extreme \(value): int8 \(e8) float32 \(e32)")
            #expect(e8.isFinite && e8 > 10)
            #expect(e8 >= e32 / 2 && e8 <= e32 * 2)
        }
    }

    @Test func calibrationNeedsEventsAndAFittedModel() throws {
        var fresh = try ContrastiveAutoencoder(configuration: AutoencoderTests.configuration())
        #expect(throws: MLError.self) { try fresh.quantizedSnapshot(calibration: [Float](repeating: 0, count: 12), count: 1) }
        let rows = SyntheticData.anomalyMixture(count: 64, width: 12, anomalyRate: 0, seed: 1).rows
        try fresh.fitNormalRegion(rows: rows, count: 64)
        #expect(throws: MLError.self) { try fresh.quantizedSnapshot(calibration: [], count: 0) }
        #expect(throws: MLError.self) { try fresh.quantizedSnapshot(calibration: [.nan] + Array(rows[1..<12]), count: 1) }
    }
}
