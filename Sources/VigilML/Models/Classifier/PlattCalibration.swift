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
    /// steps (a step is halved until the smoothed log-loss falls), one pass over the data per
    /// step. It starts from `start` (a recent fit on similar data converges in a few steps)
    /// unless that fits worse than the best constant probability: a start whose probabilities
    /// saturate has no curvature to step from, so it starts from that constant instead.
    public static func fit(logits: [Float], labels: [Float], startingFrom start: PlattCalibration = .identity) -> PlattCalibration {
        let positives = Double(labels.filter { $0 >= 0.5 }.count)
        let negatives = Double(labels.count) - positives
        guard positives > 0, negatives > 0 else { return .identity }
        let hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2)
        // The smoothed log-loss, its gradient and Hessian at (a, b), in one pass.
        struct Point { var loss = 0.0, g0 = 0.0, g1 = 0.0, h00 = 1e-9, h01 = 0.0, h11 = 1e-9 }
        func evaluate(_ a: Double, _ b: Double) -> Point {
            var q = Point()
            for (zf, y) in zip(logits, labels) {
                let z = Double(zf), t = y >= 0.5 ? hi : lo, u = a * z + b
                // -(t·log σ(u) + (1-t)·log(1-σ(u))) = softplus(u) - t·u
                q.loss += (u > 0 ? u + log1p(exp(-u)) : log1p(exp(u))) - t * u
                let p = 1 / (1 + exp(-u)), r = p - t, w = p * (1 - p)
                q.g0 += r * z; q.g1 += r
                q.h00 += w * z * z; q.h01 += w * z; q.h11 += w
            }
            return q
        }
        // The best constant: σ(b) = the mean target.
        let n = positives + negatives, meanTarget = (positives * hi + negatives * lo) / n
        let constant = log(meanTarget / (1 - meanTarget))
        let constantLoss = n * (constant > 0 ? constant + log1p(exp(-constant)) : log1p(exp(constant))) - constant * meanTarget * n
        var a = Double(start.slope), b = Double(start.intercept)
        var current = a.isFinite && b.isFinite ? evaluate(a, b) : Point(loss: .infinity)
        if !(current.loss <= constantLoss) {
            (a, b) = (0, constant)
            current = evaluate(a, b)
        }
        for _ in 0..<50 {
            let det = current.h00 * current.h11 - current.h01 * current.h01
            guard det.magnitude > 1e-12 else { break }
            let da = (current.h11 * current.g0 - current.h01 * current.g1) / det
            let db = (current.h00 * current.g1 - current.h01 * current.g0) / det
            guard da.isFinite, db.isFinite else { break }
            var step = 1.0, accepted = false
            for _ in 0..<30 {
                let next = evaluate(a - step * da, b - step * db)
                if next.loss <= current.loss {
                    a -= step * da; b -= step * db; current = next; accepted = true
                    break
                }
                step /= 2
            }
            if !accepted || step * (abs(da) + abs(db)) < 1e-7 { break }
        }
        guard a.isFinite, b.isFinite else { return .identity }
        return PlattCalibration(slope: Float(a), intercept: Float(b))
    }
}
