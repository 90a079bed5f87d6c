// The output of feature extraction for one event, reused across events to avoid allocation.

/// A dense Float vector plus one hashed sparse index per categorical field and cross.
/// Sparse slot `i` lies in `[offsets[i], offsets[i] + buckets[i])` of the spec's sparse space,
/// so a model can keep one embedding table (or one bag) per field.
public struct FeatureVector: Sendable, Equatable {
    public var dense: [Float]
    public var sparse: [UInt32]
    /// The raw computed values rules read, by `FeatureReadings` slot (NaN: null). Not a model input.
    public var readings: [Float]

    public init(denseCount: Int, sparseCount: Int) {
        dense = Array(repeating: 0, count: denseCount)
        sparse = Array(repeating: 0, count: sparseCount)
        readings = Array(repeating: .nan, count: FeatureReadings.count)
    }

    /// Equal features; readings compare by bit pattern, so two nulls (NaN) are equal.
    public static func == (a: FeatureVector, b: FeatureVector) -> Bool {
        a.dense == b.dense && a.sparse == b.sparse && a.readings.map(\.bitPattern) == b.readings.map(\.bitPattern)
    }
}
