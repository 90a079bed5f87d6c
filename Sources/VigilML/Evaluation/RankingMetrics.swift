// Ranking quality of scores against known labels, for the guard, tests and benchmarks. Average
// precision is BinaryMetrics' tie-aware AUPRC: the guard, replay and benchmarks measure one thing.

public enum RankingMetrics {
    /// Average precision (area under the precision–recall curve, step-wise over distinct
    /// scores): the metric that stays honest when fraud is rare, since a random ranking
    /// scores about the positive rate. Tied scores count as one group (constant scores earn
    /// the positive rate, no more). 0 without positives.
    public static func averagePrecision(scores: [Float], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count)
        return BinaryMetrics(scores: scores, isFraud: labels).auprc ?? 0
    }

    /// Fraction of events whose thresholded score (≥ threshold) matches the label.
    public static func accuracy(scores: [Float], labels: [Bool], threshold: Float = 0.5) -> Double {
        guard !scores.isEmpty else { return 0 }
        return Double(zip(scores, labels).filter { ($0 >= threshold) == $1 }.count) / Double(scores.count)
    }
}
