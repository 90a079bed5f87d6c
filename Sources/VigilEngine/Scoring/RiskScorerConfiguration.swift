// How the two model scores become one risk in [0, 1], and how reasons are chosen.
import Foundation
import VigilML

/// Settings of the risk scorer. The same combination is used by the promotion guard, so a
/// candidate is judged on exactly the number the decision policy will see.
public struct RiskScorerConfiguration: Sendable, Equatable {
    /// Anomaly score (standard-score units) at which the autoencoder alone gives risk 0.5.
    /// Default: 4.
    public var anomalyMidpoint: Float = 4
    /// Anomaly-score units per e-fold of the logistic that maps it to [0, 1]. Default: 1.
    public var anomalyScale: Float = 1
    /// How much the autoencoder can add once the classifier is trained (noisy-or weight):
    /// risk = 1 − (1 − p)(1 − w·q). Until the classifier has seen labels, risk = q. Default: 0.5.
    public var anomalyWeight: Float = 0.5
    /// Reasons kept per event (at most `ReasonList.capacity`); 0 computes none, which also
    /// skips the per-feature reconstruction errors and classifier contributions (risks are
    /// unchanged). Default: 3.
    public var reasonsPerEvent = 3
    /// A feature's reconstruction-error ratio must exceed this to be named as a reason. Default: 4.
    public var minimumReconstructionRatio: Float = 4
    /// Events at or above this risk also get classifier contributions as reasons (the costly
    /// gradient × input path, so only for events likely to be reviewed); above 1 turns it off. Default: 0.5.
    public var explainAbove: Float = 0.5
    /// At most this many events per batch get classifier contributions (in batch order): a
    /// burst of risky events must not make a batch many times slower (each costs tens of
    /// microseconds). The rest keep reconstruction reasons. Default: 16.
    public var maxExplainedPerBatch = 16
    /// Largest batch the scorer sizes its buffers for up front (larger ones grow them). Default: 1024.
    public var batchCapacity = 1024

    public init() {}

    func validate() throws {
        guard anomalyScale > 0, anomalyMidpoint.isFinite, (0...1).contains(anomalyWeight),
              (0...ReasonList.capacity).contains(reasonsPerEvent), minimumReconstructionRatio >= 0,
              explainAbove >= 0, maxExplainedPerBatch >= 0, batchCapacity > 0 else {
            throw EngineError(.invalidConfiguration, "risk scorer setting out of range: \(self)")
        }
    }

    /// The autoencoder's share: a logistic of the anomaly score.
    @inlinable
    public func anomalyRisk(_ anomaly: Float) -> Float {
        1 / (1 + exp(-(anomaly - anomalyMidpoint) / anomalyScale))
    }

    /// The combined risk in [0, 1] (NaN-free for finite inputs).
    @inlinable
    public func risk(_ score: Score, classifierIsTrained: Bool) -> Float {
        let q = anomalyRisk(score.anomaly)
        guard classifierIsTrained else { return q }
        let r = 1 - (1 - score.fraudProbability) * (1 - anomalyWeight * q)
        return min(max(r, 0), 1)
    }
}
