// Test-then-train evidence for the promotion guard: every label as the live model and the
// challenger scored it at the moment it arrived, before the challenger learnt from it. No label
// is held out, and none can have influenced its own score.
import Foundation
import VigilML

/// The newest `capacity` labels with both models' risks (and the challenger's raw logit, which
/// the challenger's calibration is fitted on when it is published).
struct PrequentialWindow {
    let capacity: Int
    private(set) var count = 0
    private(set) var frauds = 0
    private var next = 0
    private var isFraud: [Bool]
    private var live: [Float]
    private var challenger: [Float]
    private var logits: [Float]
    private var anomalies: [Float]

    init(capacity: Int) {
        self.capacity = capacity
        isFraud = [Bool](repeating: false, count: capacity)
        live = [Float](repeating: 0, count: capacity)
        challenger = [Float](repeating: 0, count: capacity)
        logits = [Float](repeating: 0, count: capacity)
        anomalies = [Float](repeating: 0, count: capacity)
    }

    mutating func add(isFraud fraud: Bool, live l: Float, challenger c: Float, challengerLogit z: Float, challengerAnomaly a: Float = 0) {
        if count == capacity, isFraud[next] { frauds -= 1 }
        isFraud[next] = fraud
        live[next] = l
        challenger[next] = c
        logits[next] = z
        anomalies[next] = a
        if fraud { frauds += 1 }
        next = (next + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Re-derives the challenger's risks from the logits and anomaly scores it gave, as a new
    /// calibration would have turned them into risk (the ranking of the logits is unchanged).
    mutating func rescoreChallenger(_ risk: (_ anomaly: Float, _ logit: Float) -> Float) {
        for i in 0..<count { challenger[i] = risk(anomalies[i], logits[i]) }
    }

    /// Forgets everything (the challenger was reset: its old scores say nothing of the new one).
    mutating func clear() {
        count = 0
        frauds = 0
        next = 0
    }

    /// What the guard compares.
    struct Figures: Equatable {
        var labels: Int
        var frauds: Int
        var liveAveragePrecision: Double?
        var challengerAveragePrecision: Double?
        var liveLogLoss: Double?
        var challengerLogLoss: Double?
    }

    func figures() -> Figures {
        var f = Figures(labels: count, frauds: frauds)
        guard count > 0 else { return f }
        let truth = Array(isFraud[0..<count]), l = Array(live[0..<count]), c = Array(challenger[0..<count])
        if frauds > 0, frauds < count {
            f.liveAveragePrecision = BinaryMetrics.averagePrecision(scores: l, isFraud: truth)
            f.challengerAveragePrecision = BinaryMetrics.averagePrecision(scores: c, isFraud: truth)
        }
        f.liveLogLoss = Self.logLoss(l, truth)
        f.challengerLogLoss = Self.logLoss(c, truth)
        return f
    }

    /// The entries, oldest first (for tests and diagnostics).
    func entries() -> [(isFraud: Bool, live: Float, challenger: Float)] {
        let first = count < capacity ? 0 : next
        return (0..<count).map { k in
            let i = (first + k) % capacity
            return (isFraud[i], live[i], challenger[i])
        }
    }

    /// The challenger's raw logits and the labels, for its calibration.
    func calibrationData() -> (logits: [Float], labels: [Float]) {
        (Array(logits[0..<count]), isFraud[0..<count].map { $0 ? 1 : 0 })
    }

    /// Mean log-loss of risks taken as probabilities (clamped away from 0 and 1); NaN if any risk is.
    static func logLoss(_ risks: [Float], _ truth: [Bool]) -> Double {
        var loss = 0.0
        for (r, y) in zip(risks, truth) {
            guard r.isFinite else { return .nan }
            let p = min(max(Double(r), 1e-6), 1 - 1e-6)
            loss -= y ? log(p) : log(1 - p)
        }
        return loss / Double(max(risks.count, 1))
    }
}
