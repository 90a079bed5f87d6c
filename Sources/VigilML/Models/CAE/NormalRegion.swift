// Where normal traffic lives, in reconstruction-error and embedding space.
import Foundation

/// Statistics of normal traffic used to standardise the autoencoder's anomaly score.
///
/// score = w · (e − errorMean) / errorStd + (1 − w) · (dist − distanceMean) / distanceStd,
/// where e is the event's mean squared reconstruction error and dist the RMS of its
/// embedding's per-dimension standard scores (a diagonal Mahalanobis distance).
public struct NormalRegion: Sendable, Equatable {
    /// Mean squared reconstruction error of each feature; scales per-feature reasons.
    public var featureErrorMean: [Float]
    public var errorMean: Float
    public var errorStd: Float
    public var embeddingMean: [Float]
    public var embeddingStd: [Float]
    public var distanceMean: Float
    public var distanceStd: Float

    static func fit(layers: [DenseLayer], encoderCount: Int, rows: [Float], count n: Int) -> NormalRegion {
        let d = layers[0].inputs
        var x = [Float](repeating: 0, count: d * n)
        for j in 0..<n { for f in 0..<d { x[f * n + j] = rows[j * d + f] } }
        var a = x
        var embedding: [Float] = []
        for (i, layer) in layers.enumerated() {
            a = layer.forward(a, n: n)
            if i == encoderCount - 1 { embedding = a }
        }
        let width = layers[encoderCount - 1].outputs
        var featureError = [Double](repeating: 0, count: d)
        var errors = [Double](repeating: 0, count: n)
        for f in 0..<d {
            for j in 0..<n {
                let diff = Double(a[f * n + j] - x[f * n + j])
                featureError[f] += diff * diff / Double(n)
                errors[j] += diff * diff / Double(d)
            }
        }
        var mean = [Float](repeating: 0, count: width)
        var std = [Float](repeating: 0, count: width)
        for k in 0..<width {
            let (m, s) = meanStd((0..<n).map { Double(embedding[k * n + $0]) })
            mean[k] = Float(m)
            std[k] = Float(max(s, 1e-6))
        }
        let distances = (0..<n).map { j -> Double in
            var s: Double = 0
            for k in 0..<width {
                let z = Double((embedding[k * n + j] - mean[k]) / std[k])
                s += z * z
            }
            return (s / Double(width)).squareRoot()
        }
        let (em, es) = meanStd(errors)
        let (dm, ds) = meanStd(distances)
        return NormalRegion(
            featureErrorMean: featureError.map { Float(max($0, 1e-8)) },
            errorMean: Float(em), errorStd: Float(max(es, 1e-8)),
            embeddingMean: mean, embeddingStd: std,
            distanceMean: Float(dm), distanceStd: Float(max(ds, 1e-8)))
    }

    static func meanStd(_ values: [Double]) -> (Double, Double) {
        let m = values.reduce(0, +) / Double(max(values.count, 1))
        let v = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(values.count - 1, 1))
        return (m, v.squareRoot())
    }
}
