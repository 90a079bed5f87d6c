// Payload encoding of the two models' training state (framing lives in ModelFile).

extension DenseLayer {
    func encode(into w: inout BinaryWriter) {
        w.int(inputs); w.int(outputs); w.u8(activation.rawValue)
        w.floats(weights); w.floats(bias); w.optionalFloats(mask)
    }

    init(decoding r: inout BinaryReader, inputs expectedInputs: Int, outputs expectedOutputs: Int) throws {
        let inputs = try r.int(), outputs = try r.int()
        guard inputs == expectedInputs, outputs == expectedOutputs else {
            throw MLError(.corruptPayload, "layer is \(inputs)→\(outputs), configuration says \(expectedInputs)→\(expectedOutputs)")
        }
        let raw = try r.u8()
        guard let activation = Activation(rawValue: raw) else { throw MLError(.corruptPayload, "unknown activation \(raw)") }
        let weights = try r.floats(expected: inputs * outputs, "weights")
        let bias = try r.floats(expected: outputs, "bias")
        let mask = try r.optionalFloats()
        guard mask.map({ $0.count == weights.count }) ?? true else { throw MLError(.corruptPayload, "mask size differs from weights") }
        self.init(inputs: inputs, outputs: outputs, activation: activation, weights: weights, bias: bias, mask: mask)
    }
}

extension AdamState {
    func encode(into w: inout BinaryWriter) {
        w.floats(m); w.floats(v); w.int(step)
    }

    init(decoding r: inout BinaryReader, count: Int) throws {
        self.init(count: 0)
        m = try r.floats(expected: count, "optimiser moments")
        v = try r.floats(expected: count, "optimiser moments")
        step = try r.int()
    }
}

extension AdamConfiguration {
    func encode(into w: inout BinaryWriter) {
        w.f32(learningRate); w.f32(beta1); w.f32(beta2); w.f32(epsilon)
    }

    init(decoding r: inout BinaryReader) throws {
        self.init(learningRate: try r.f32())
        beta1 = try r.f32(); beta2 = try r.f32(); epsilon = try r.f32()
    }
}

extension ContrastiveAutoencoder {
    func encodePayload(into w: inout BinaryWriter) {
        let c = configuration
        w.int(c.inputWidth); w.ints(c.encoderWidths); w.int(c.embeddingWidth); w.ints(c.decoderWidths)
        w.f32(c.contrastiveWeight); w.f32(c.margin); w.int(c.hardNegatives); w.f32(c.noiseStandardDeviation)
        w.f32(c.dropoutRate); w.f32(c.reconstructionScoreWeight); c.optimizer.encode(into: &w); w.u64(c.seed)
        for layer in layers { layer.encode(into: &w) }
        for i in layers.indices { weightMoments[i].encode(into: &w); biasMoments[i].encode(into: &w) }
        for s in generator.state { w.u64(s) }
        w.int(steps)
        w.bool(normalRegion != nil)
        if let n = normalRegion {
            w.floats(n.featureErrorMean); w.f32(n.errorMean); w.f32(n.errorStd)
            w.floats(n.embeddingMean); w.floats(n.embeddingStd); w.f32(n.distanceMean); w.f32(n.distanceStd)
        }
    }

    init(decoding r: inout BinaryReader) throws {
        var c = Configuration(inputWidth: try r.int())
        c.encoderWidths = try r.ints(); c.embeddingWidth = try r.int(); c.decoderWidths = try r.ints()
        c.contrastiveWeight = try r.f32(); c.margin = try r.f32(); c.hardNegatives = try r.int()
        c.noiseStandardDeviation = try r.f32(); c.dropoutRate = try r.f32(); c.reconstructionScoreWeight = try r.f32()
        c.optimizer = try AdamConfiguration(decoding: &r); c.seed = try r.u64()
        guard c.widths.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else { throw MLError(.corruptPayload, "implausible widths \(c.widths)") }
        try self.init(configuration: c)
        for i in layers.indices {
            layers[i] = try DenseLayer(decoding: &r, inputs: layers[i].inputs, outputs: layers[i].outputs)
        }
        for i in layers.indices {
            weightMoments[i] = try AdamState(decoding: &r, count: layers[i].weights.count)
            biasMoments[i] = try AdamState(decoding: &r, count: layers[i].bias.count)
        }
        generator.state = try (0..<4).map { _ in try r.u64() }
        steps = try r.int()
        if try r.bool() {
            let d = c.inputWidth, e = c.embeddingWidth
            normalRegion = NormalRegion(
                featureErrorMean: try r.floats(expected: d, "feature errors"), errorMean: try r.f32(), errorStd: try r.f32(),
                embeddingMean: try r.floats(expected: e, "embedding mean"), embeddingStd: try r.floats(expected: e, "embedding std"),
                distanceMean: try r.f32(), distanceStd: try r.f32())
        }
        guard layers.allSatisfy(\.isFinite) else { throw MLError(.corruptPayload, "non-finite weight in model file") }
    }
}

extension SparseClassifier {
    func encodePayload(into w: inout BinaryWriter) {
        let c = configuration
        w.int(c.denseWidth); w.int(c.hashBuckets); w.int(c.bagWidth); w.ints(c.hiddenWidths)
        switch c.loss {
        case .weighted(let p): w.u8(0); w.f32(p); w.f32(0)
        case .focal(let g, let a): w.u8(1); w.f32(g); w.f32(a)
        }
        let s = c.sparsity
        w.f64(s.target); w.int(s.startStep); w.int(s.endStep); w.int(s.updateInterval); w.f64(s.regrowFraction)
        w.bool(c.halfPrecisionGradients)
        let l = c.lossScaling
        w.f32(l.initialScale); w.int(l.growthInterval); w.f32(l.minimumScale); w.f32(l.maximumScale)
        c.optimizer.encode(into: &w); w.u64(c.seed)
        for layer in layers { layer.encode(into: &w) }
        w.floats(table)
        for i in layers.indices { weightMoments[i].encode(into: &w); biasMoments[i].encode(into: &w) }
        tableMoments.encode(into: &w)
        for state in sparsityStates { w.floats(state.importance); w.floats(state.gradientMagnitude) }
        w.f32(lossScaler.scale); w.int(lossScaler.cleanSteps); w.int(lossScaler.skippedSteps)
        w.f32(calibration.slope); w.f32(calibration.intercept)
        w.int(steps)
    }

    init(decoding r: inout BinaryReader) throws {
        var c = Configuration(denseWidth: try r.int())
        c.hashBuckets = try r.int(); c.bagWidth = try r.int(); c.hiddenWidths = try r.ints()
        let lossKind = try r.u8(), p1 = try r.f32(), p2 = try r.f32()
        switch lossKind {
        case 0: c.loss = .weighted(positiveWeight: p1)
        case 1: c.loss = .focal(gamma: p1, alpha: p2)
        default: throw MLError(.corruptPayload, "unknown loss kind \(lossKind)")
        }
        c.sparsity = SparsitySchedule(target: try r.f64(), startStep: try r.int(), endStep: try r.int(),
                                      updateInterval: try r.int(), regrowFraction: try r.f64())
        c.halfPrecisionGradients = try r.bool()
        c.lossScaling.initialScale = try r.f32(); c.lossScaling.growthInterval = try r.int()
        c.lossScaling.minimumScale = try r.f32(); c.lossScaling.maximumScale = try r.f32()
        c.optimizer = try AdamConfiguration(decoding: &r); c.seed = try r.u64()
        guard c.widths.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }), c.hashBuckets <= 1 << 24 else {
            throw MLError(.corruptPayload, "implausible shapes \(c.widths), \(c.hashBuckets) buckets")
        }
        try self.init(configuration: c)
        for i in layers.indices {
            layers[i] = try DenseLayer(decoding: &r, inputs: layers[i].inputs, outputs: layers[i].outputs)
        }
        table = try r.floats(expected: table.count, "embedding table")
        for i in layers.indices {
            weightMoments[i] = try AdamState(decoding: &r, count: layers[i].weights.count)
            biasMoments[i] = try AdamState(decoding: &r, count: layers[i].bias.count)
        }
        tableMoments = try AdamState(decoding: &r, count: table.count)
        for i in sparsityStates.indices {
            sparsityStates[i].importance = try r.floats(expected: layers[i].weights.count, "importance")
            sparsityStates[i].gradientMagnitude = try r.floats(expected: layers[i].weights.count, "gradient magnitude")
        }
        lossScaler.scale = try r.f32(); lossScaler.cleanSteps = try r.int(); lossScaler.skippedSteps = try r.int()
        calibration = PlattCalibration(slope: try r.f32(), intercept: try r.f32())
        steps = try r.int()
        guard layers.allSatisfy(\.isFinite), table.allSatisfy(\.isFinite), calibration.slope.isFinite,
              calibration.intercept.isFinite else {
            throw MLError(.corruptPayload, "non-finite weight in model file")
        }
    }
}
