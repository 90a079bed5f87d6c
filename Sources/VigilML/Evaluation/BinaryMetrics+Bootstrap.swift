// Bootstrap confidence intervals for AUPRC and the alert budgets, computed with BinaryMetrics'
// own step sum and budget cut on resampled counts, so an interval is about the same number.
import Dispatch
import Foundation
import Synchronization

/// A two-sided interval around a metric.
public struct ConfidenceInterval: Sendable, Codable, Equatable {
    public var low: Double
    public var high: Double
    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}

/// Percentile intervals from a Poisson bootstrap (see `BinaryMetrics.bootstrap`).
public struct BootstrapIntervals: Sendable, Equatable {
    public var replicates: Int
    public var level: Double
    /// nil when no replicate had a fraud (no frauds at all).
    public var auprc: ConfidenceInterval?
    /// One per budget, in the order asked.
    public var precisionAtBudget: [ConfidenceInterval?]
    public var recallAtBudget: [ConfidenceInterval?]
}

extension BinaryMetrics {
    /// Percentile confidence intervals for `auprc` and for `atBudget(b)`'s precision and recall.
    ///
    /// Each replicate gives every event an independent Poisson(1) count of copies (the Poisson
    /// bootstrap: a resample with replacement whose size varies around n) and recomputes the
    /// metrics over the copies exactly as `auprc` and `atBudget` do: a budget is a share of the
    /// replicate's own size, ties at the cut broken in input order. Events in a run of one class
    /// that no threshold with a fraud ends inside only ever count together, and the sum of m
    /// Poisson(1) counts is Poisson(m), so a run is drawn as one count: a replicate costs a few
    /// draws per fraud, not one per event.
    ///
    /// Replicates are spread over the cores; each draws from its own generator, seeded from
    /// `seed` in replicate order, so the intervals are the same whatever the split.
    ///
    /// Events are resampled as independent. Frauds on one card, or in one attack, are not, so
    /// where fraud comes in bursts the true uncertainty is wider than these intervals.
    public func bootstrap(budgets: [Double], replicates: Int = 1000, level: Double = 0.95, seed: UInt64) -> BootstrapIntervals {
        precondition(replicates > 0 && level > 0 && level < 1)
        let runs = Self.bootstrapRuns(sortedScores, sortedFraud)
        let samplers = runs.map { PoissonSampler(mean: $0.count) }
        var root = SeededGenerator(seed: seed)
        let seeds = (0..<replicates).map { _ in root.next() }
        let lanes = max(1, min(replicates, ProcessInfo.processInfo.activeProcessorCount))
        let done = Mutex([[Replicate]](repeating: [], count: lanes))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            var weights = [Int](repeating: 0, count: runs.count), mine: [Replicate] = []
            for r in stride(from: lane, to: replicates, by: lanes) {
                var generator = SeededGenerator(seed: seeds[r])
                for i in samplers.indices { weights[i] = samplers[i].draw(using: &generator) }
                mine.append(Self.resampled(runs, weights: weights, budgets: budgets))
            }
            done.withLock { $0[lane] = mine }
        }
        // Percentiles do not depend on the order the values come in.
        var auprcs: [Double] = []
        var precisions = [[Double]](repeating: [], count: budgets.count), recalls = precisions
        for r in done.withLock({ $0 }).joined() {
            if let ap = r.auprc { auprcs.append(ap) }
            for (b, cut) in r.budgets.enumerated() {
                if let p = cut.precision { precisions[b].append(p) }
                if let rc = cut.recall { recalls[b].append(rc) }
            }
        }
        func interval(_ values: [Double]) -> ConfidenceInterval? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted(), tail = (1 - level) / 2
            return ConfidenceInterval(low: Self.quantile(sorted, tail), high: Self.quantile(sorted, 1 - tail))
        }
        return BootstrapIntervals(replicates: replicates, level: level, auprc: interval(auprcs),
                                  precisionAtBudget: precisions.map(interval), recallAtBudget: recalls.map(interval))
    }

    /// A run of events of one class in ranking order. `closesThreshold`: the run ends a group
    /// of tied scores that holds a fraud, where the step sum takes a term.
    struct BootstrapRun: Equatable, Sendable {
        var fraud: Bool
        var count: Int
        var closesThreshold: Bool
    }

    /// The ranking as runs: a new run starts at every change of class and after the end of
    /// every tied group that holds a fraud. Legitimate events between two such ends always
    /// count together, whatever their own groups, so they form one run.
    static func bootstrapRuns(_ sortedScores: [Float], _ sortedFraud: [Bool]) -> [BootstrapRun] {
        var runs: [BootstrapRun] = []
        var i = 0
        while i < sortedScores.count {
            let s = sortedScores[i]
            var groupHasFraud = false
            while i < sortedScores.count, sortedScores[i] == s {
                let fraud = sortedFraud[i]
                groupHasFraud = groupHasFraud || fraud
                if let last = runs.last, last.fraud == fraud, !last.closesThreshold {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append(BootstrapRun(fraud: fraud, count: 1, closesThreshold: false))
                }
                i += 1
            }
            // A fraud never joins a run from an earlier group (that run is closed or legitimate),
            // so the last run lies in this group: it closes the threshold.
            if groupHasFraud { runs[runs.count - 1].closesThreshold = true }
        }
        return runs
    }

    /// One replicate's AUPRC and budget cuts (nil where undefined).
    typealias Replicate = (auprc: Double?, budgets: [(precision: Double?, recall: Double?)])

    /// AUPRC and the budget cuts over `weights[i]` copies of each run: with every weight equal
    /// to its run's count, exactly `auprc` and `atBudget` (the same terms in the same order).
    static func resampled(_ runs: [BootstrapRun], weights: [Int], budgets: [Double]) -> Replicate {
        var positives = 0, total = 0
        for (run, w) in zip(runs, weights) {
            total += w
            if run.fraud { positives += w }
        }
        var cuts = [(precision: Double?, recall: Double?)](repeating: (nil, nil), count: budgets.count)
        guard total > 0 else { return (nil, cuts) }
        // Budgets as counts (as atBudget: at least one event), visited in ascending order.
        let ks = budgets.map { min(total, max(1, Int(($0 * Double(total)).rounded(.up)))) }
        let order = ks.indices.sorted { ks[$0] < ks[$1] }
        var next = 0
        var ap = 0.0, tp = 0, seen = 0, previousTP = 0
        for (run, w) in zip(runs, weights) {
            let before = seen, tpBefore = tp
            seen += w
            if run.fraud { tp += w }
            while next < order.count, ks[order[next]] <= seen {
                let k = ks[order[next]]
                let caught = tpBefore + (run.fraud ? k - before : 0)
                cuts[order[next]] = (Double(caught) / Double(k), positives > 0 ? Double(caught) / Double(positives) : nil)
                next += 1
            }
            if run.closesThreshold && positives > 0 {
                ap += precisionStep(tp: tp, fp: seen - tp, previousTP: &previousTP, positives: positives)
            }
        }
        return (positives > 0 ? ap : nil, cuts)
    }

    /// Linear interpolation between order statistics (numpy's default, R's type 7).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let h = Double(sorted.count - 1) * q
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}

/// Poisson(mean) counts from a seeded generator: the same seed gives the same counts. The
/// constants of a mean are worked out once, as a replicate draws every run's count again.
struct PoissonSampler: Sendable {
    let mean: Int
    // Inversion (mean < 10): P(0).
    private let zero: Double
    // Hörmann's transformed rejection, PTRS (1993), from 10 on.
    private let lambda, logLambda, b, a, logInverseAlpha, vr: Double

    init(mean: Int) {
        self.mean = mean
        lambda = Double(mean)
        zero = exp(-lambda)
        logLambda = log(lambda)
        b = 0.931 + 2.53 * lambda.squareRoot()
        a = -0.059 + 0.02483 * b
        logInverseAlpha = log(1.1239 + 1.1328 / (b - 3.4))
        vr = 0.9277 - 3.6224 / (b - 2)
    }

    func draw(using g: inout SeededGenerator) -> Int {
        if mean == 0 { return 0 }
        if mean < 10 {
            let u = Self.unit(&g)
            var k = 0, p = zero, cumulative = zero
            while u > cumulative && k < 200 {
                k += 1
                p *= lambda / Double(k)
                cumulative += p
            }
            return k
        }
        while true {
            let u = Self.unit(&g) - 0.5, v = Self.unit(&g)
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            if us >= 0.07 && v <= vr { return Int(k) }
            if k < 0 || (us < 0.013 && v > us) { continue }
            if log(v) + logInverseAlpha - log(a / (us * us) + b) <= -lambda + k * logLambda - lgamma(k + 1) { return Int(k) }
        }
    }

    /// Uniform in [0, 1) with 53 bits.
    static func unit(_ g: inout SeededGenerator) -> Double {
        Double(g.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
