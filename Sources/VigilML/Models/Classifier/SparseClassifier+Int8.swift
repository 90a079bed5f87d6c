// The classifier frozen as INT8: weights per output channel, activations calibrated on traffic.

extension SparseClassifier {
    /// An immutable INT8 copy for scoring, each layer's input codes calibrated on the ranges
    /// the Float32 model produces over `rows` (count × denseWidth, batch-major) and their
    /// sparse inputs: recent traffic. Pruned layers are stored densely with zeros (see
    /// `PackedLayer.init(weights:bias:inputs:outputs:activation:mask:ranges:)`); the
    /// embedding table is a lookup, not a product, and stays Float16.
    public func quantizedSnapshot(calibration rows: [Float], sparse: SparseBatch?, count n: Int) throws -> ClassifierSnapshot {
        try checkInputs(rows: rows, sparse: sparse, count: n)
        guard n > 0 else { throw MLError(.shapeMismatch, "INT8 calibration needs at least one event") }
        let ranges = SubnormalFlushing.run { layers.inputRanges(inputColumns(rows: rows, sparse: sparse, count: n), n: n) }
        return ClassifierSnapshot(configuration: configuration, layers: zip(layers, ranges).map { $0.quantized(ranges: $1) },
                                  table: .float16(HalfPrecision.narrow(table)), calibration: calibration)
    }
}

extension ClassifierSnapshot {
    /// Whether every layer scores in INT8.
    public var isInt8: Bool { layers.allSatisfy(\.isInt8) }
}
