// Platt calibration: the fit reaches the optimum from any start, including one whose
// probabilities saturate (the warm start of a challenger whose logits moved under it).
import Foundation
import Testing
import VigilML

@Suite struct PlattCalibrationTests {
    /// 2,000 logits, 2% fraud, frauds' logits shifted up: a calibration with a clear optimum.
    static func data() -> (logits: [Float], labels: [Float]) {
        var logits: [Float] = [], labels: [Float] = []
        var state: UInt64 = 7
        func unit() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        for i in 0..<2000 {
            let fraud = i % 50 == 0
            let noise = (unit() + unit() + unit() - 1.5) * 2
            logits.append(Float((fraud ? 3.0 : 0.0) + noise))
            labels.append(fraud ? 1 : 0)
        }
        return (logits, labels)
    }

    static func logLoss(_ c: PlattCalibration, _ d: (logits: [Float], labels: [Float])) -> Double {
        zip(d.logits, d.labels).map { z, y in
            let p = min(max(Double(c.probability(logit: z)), 1e-6), 1 - 1e-6)
            return y >= 0.5 ? -log(p) : -log(1 - p)
        }.reduce(0, +) / Double(d.logits.count)
    }

    @Test func everyStartReachesTheSameFit() {
        let d = Self.data()
        let reference = PlattCalibration.fit(logits: d.logits, labels: d.labels)
        let referenceLoss = Self.logLoss(reference, d)
        #expect(referenceLoss < 0.1, "the optimum beats the base rate's 0.098: \(referenceLoss)")
        let starts = [
            PlattCalibration(slope: -500, intercept: 0),     // certain and wrong about everything
            PlattCalibration(slope: 80, intercept: 300),     // everything saturated at fraud
            PlattCalibration(slope: 1e-6, intercept: -40),   // everything saturated at legitimate
            PlattCalibration(slope: .nan, intercept: 0),
            reference,
        ]
        for start in starts {
            let fit = PlattCalibration.fit(logits: d.logits, labels: d.labels, startingFrom: start)
            #expect(abs(Self.logLoss(fit, d) - referenceLoss) < 1e-4, "from \(start): \(fit), log-loss \(Self.logLoss(fit, d)) vs \(referenceLoss)")
        }
    }

    @Test func oneClassGivesTheIdentity() {
        #expect(PlattCalibration.fit(logits: [1, 2, 3], labels: [0, 0, 0]) == .identity)
    }
}
