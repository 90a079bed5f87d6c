// Turns classifier logits into calibrated fraud probabilities.
import Foundation

/// p = σ(slope · logit + intercept), fitted on a holdout by Newton's method on log-loss.
/// Needed because the imbalance-aware loss biases raw probabilities on purpose.
public struct PlattCalibration: Sendable, Equatable {
    public var slope: Float
    public var intercept: Float

    /// The identity mapping, p = σ(logit).
    public static let identity = PlattCalibration(slope: 1, intercept: 0)

    public init(slope: Float, intercept: Float) {
        self.slope = slope
        self.intercept = intercept
    }

    @inlinable
    public func probability(logit: Float) -> Float {
        1 / (1 + exp(-(slope * logit + intercept)))
    }

    /// Fits on (logit, label ∈ {0,1}) pairs with Platt's smoothed targets, by damped Newton
    /// steps (each step halved until the smoothed log-loss falls). It starts from `start` (a
    /// recent fit on similar data converges in a few steps) unless the identity fits the data
    /// better: a start whose probabilities saturate has no curvature to step from, and plain
    /// Newton would stay there.
    public static func fit(logits: [Float], labels: [Float], startingFrom start: PlattCalibration = .identity) -> PlattCalibration {
        let positives = Double(labels.filter { $0 >= 0.5 }.count)
        let negatives = Double(labels.count) - positives
        guard positives > 0, negatives > 0 else { return .identity }
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        // Smoothed log-loss of p = σ(a·z + b), in its stable softplus form.
        func loss(_ a: Double, _ b: Double) -> Double {
            var sum = 0.0
            for (z, y) in zip(logits, labels) {
                let t = y >= 0.5 ? hi : lo, u = a * Double(z) + b
                // -(t·log σ(u) + (1-t)·log(1-σ(u))) = softplus(u) - t·u
                let softplus = u > 0 ? u + log1p(exp(-u)) : log1p(exp(u))
                sum += softplus - t * u
            }
            return sum
        }
        var a = Double(start.slope), b = Double(start.intercept)
        var current = a.isFinite && b.isFinite ? loss(a, b) : .infinity
        let fromIdentity = loss(1, 0)
        if !(current <= fromIdentity) { (a, b, current) = (1, 0, fromIdentity) }
        for _ in 0..<50 {
            var g0 = 0.0, g1 = 0.0, h00 = 1e-9, h01 = 0.0, h11 = 1e-9
            for (z, y) in zip(logits, labels) {
                let t = y >= 0.5 ? hi : lo
                let p = 1 / (1 + exp(-(a * Double(z) + b)))
                let r = p - t, w = p * (1 - p)
                g0 += r * Double(z); g1 += r
                h00 += w * Double(z) * Double(z); h01 += w * Double(z); h11 += w
            }
            let det = h00 * h11 - h01 * h01
            guard det.magnitude > 1e-12 else { break }
            let da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det
            guard da.isFinite, db.isFinite else { break }
            var step = 1.0, improved = false
            for _ in 0..<30 {
                let next = loss(a - step * da, b - step * db)
                if next <= current { a -= step * da; b -= step * db; current = next; improved = true; break }
                step /= 2
            }
            if !improved || step * (abs(da) + abs(db)) < 1e-7 { break }
        }
        guard a.isFinite, b.isFinite else { return .identity }
        return PlattCalibration(slope: Float(a), intercept: Float(b))
    }
}
