// The autoencoder frozen as INT8: weights per output channel, activations calibrated on traffic.

extension ContrastiveAutoencoder {
    /// An immutable INT8 copy for scoring (every layer an `Int8Matrix`), each layer's input
    /// codes calibrated on the ranges the Float32 model produces over `rows` (count ×
    /// inputWidth, batch-major: recent traffic). The normal region stays the Float32 model's.
    public func quantizedSnapshot(calibration rows: [Float], count n: Int) throws -> AnomalySnapshot {
        guard let normalRegion else {
            throw MLError(.notReady, "fit the normal region before publishing the autoencoder")
        }
        try InputValidation.check(rows: rows, count: n, width: configuration.inputWidth)
        guard n > 0 else { throw MLError(.shapeMismatch, "INT8 calibration needs at least one event") }
        let ranges = SubnormalFlushing.run {
            var x = [Float](repeating: 0, count: rows.count)
            rows.withUnsafeBufferPointer { r in
                x.withUnsafeMutableBufferPointer { Transpose.toFeatureMajor(r.baseAddress!, count: n, width: configuration.inputWidth, into: $0.baseAddress!) }
            }
            return layers.inputRanges(x, n: n)
        }
        return AnomalySnapshot(configuration: configuration, layers: zip(layers, ranges).map { $0.quantized(ranges: $1) },
                               encoderCount: encoderCount, normalRegion: normalRegion)
    }
}

extension AnomalySnapshot {
    /// Whether every layer scores in INT8.
    public var isInt8: Bool { layers.allSatisfy(\.isInt8) }
}

extension PackedLayer {
    /// Whether the layer's weights are stored as INT8.
    public var isInt8: Bool {
        if case .int8 = storage { return true }
        return false
    }
}
