// Imbalance-aware binary losses on logits (fraud is rare).
import Foundation

/// The classifier's training loss. Both variants take logits and labels in {0, 1}.
public enum ClassificationLoss: Sendable, Equatable {
    /// Cross-entropy with positives weighted by `positiveWeight`.
    case weighted(positiveWeight: Float)
    /// Focal loss −α_t (1 − p_t)^γ log p_t, which down-weights easy (mostly legitimate) events.
    case focal(gamma: Float, alpha: Float)

    /// Default: focal loss, γ = 2, α = 0.75.
    public static let standard = ClassificationLoss.focal(gamma: 2, alpha: 0.75)

    /// Loss of one event and its derivative with respect to the logit.
    @inlinable
    public func evaluate(logit z: Float, label y: Float) -> (loss: Float, gradient: Float) {
        let p = 1 / (1 + exp(-z))
        // log σ(z) and log(1 − σ(z)) computed stably for large |z|.
        let logP = -softplus(-z), logQ = -softplus(z)
        switch self {
        case .weighted(let w):
            let loss = -(w * y * logP + (1 - y) * logQ)
            return (loss, w * y * (p - 1) + (1 - y) * p)
        case .focal(let gamma, let alpha):
            if y >= 0.5 {
                let q = 1 - p
                let loss = -alpha * pow(q, gamma) * logP
                return (loss, alpha * pow(q, gamma) * (gamma * p * logP - q))
            } else {
                let loss = -(1 - alpha) * pow(p, gamma) * logQ
                return (loss, -(1 - alpha) * pow(p, gamma) * (gamma * (1 - p) * logQ - p))
            }
        }
    }
}

@inlinable
func softplus(_ x: Float) -> Float {
    x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
}
