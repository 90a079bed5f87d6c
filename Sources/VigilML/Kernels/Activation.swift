// Element-wise activations, fused with the bias add, over feature-major buffers.
import Foundation

/// A layer's non-linearity. Derivatives are expressed through the activation's output,
/// so training keeps only post-activation values.
public enum Activation: UInt8, Sendable, CaseIterable {
    case identity = 0
    case relu = 1
    case tanh = 2
    case sigmoid = 3

    /// Adds `bias[r]` to every element of row `r` of the rows×cols row-major buffer `z`
    /// and applies the activation in place: one pass over memory instead of two.
    func applyWithBias(_ z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let b = bias[r]
            let row = z + r * cols
            switch self {
            case .identity: for c in 0..<cols { row[c] += b }
            case .relu: for c in 0..<cols { row[c] = max(row[c] + b, 0) }
            case .tanh: for c in 0..<cols { row[c] = Foundation.tanh(row[c] + b) }
            case .sigmoid: for c in 0..<cols { row[c] = 1 / (1 + Foundation.exp(-(row[c] + b))) }
            }
        }
    }

    /// Multiplies `gradient` in place by the activation's derivative, given the outputs `a`.
    func backward(_ gradient: UnsafeMutablePointer<Float>, outputs a: UnsafePointer<Float>, count: Int) {
        switch self {
        case .identity: break
        // A select, not a branch: which outputs are zero is data, and a mispredicted branch
        // per element cost more than the rest of the backward pass.
        case .relu: for i in 0..<count { gradient[i] = a[i] <= 0 ? 0 : gradient[i] }
        case .tanh: for i in 0..<count { gradient[i] *= 1 - a[i] * a[i] }
        case .sigmoid: for i in 0..<count { gradient[i] *= a[i] * (1 - a[i]) }
        }
    }
}
