// Shared helpers: tolerances and finite differences are explicit here, once.
@testable import VigilML

/// ‖a − b‖ / max(‖b‖, floor): the gradient-check metric (robust to single Float32 rounding spikes).
func relativeError(_ a: [Float], _ b: [Float], floor: Float = 1e-6) -> Float {
    precondition(a.count == b.count)
    var diff: Float = 0, norm: Float = 0
    for i in a.indices {
        diff += (a[i] - b[i]) * (a[i] - b[i])
        norm += b[i] * b[i]
    }
    return diff.squareRoot() / max(norm.squareRoot(), floor)
}

/// Central finite differences of `loss` with respect to selected entries of a parameter.
/// Float32 losses: eps 1e-3 gives ~1e-3 relative accuracy, hence the 2e-2 tolerances.
func numericGradient(indices: [Int], eps: Float = 1e-3, perturb: (Int, Float) -> Float) -> [Float] {
    indices.map { i in (perturb(i, eps) - perturb(i, -eps)) / (2 * eps) }
}

/// For piecewise-linear losses (ReLU, hinge, top-k): a kink within ±eps of the point
/// spoils one central difference. Each entry takes the difference (over three step sizes)
/// closest to the analytic value; a wrong gradient still fails at every step size.
func kinkTolerantNumericGradient(indices: [Int], analytic: [Float], perturb: (Int, Float) -> Float) -> [Float] {
    zip(indices, analytic).map { i, g in
        [1e-3, 3e-4, 3e-3].map { (e: Float) in (perturb(i, e) - perturb(i, -e)) / (2 * e) }
            .min { abs($0 - g) < abs($1 - g) }!
    }
}

/// Up to `count` spread-out indices in 0..<n.
func sampleIndices(_ n: Int, count: Int) -> [Int] {
    n <= count ? Array(0..<n) : (0..<count).map { $0 * n / count }
}

func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<n).map { _ in g.nextNormal() * scale }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
