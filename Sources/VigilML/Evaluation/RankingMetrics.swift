// Ranking quality of scores against known labels: what the guard and benchmarks compare.

public enum RankingMetrics {
    /// Average precision (area under the precision–recall curve, step-wise), the metric
    /// that stays honest when fraud is rare: a random ranking scores about the positive rate.
    /// Ties are broken pessimistically (negatives first) so constant scores earn no credit.
    public static func averagePrecision(scores: [Float], labels: [Bool]) -> Double {
        precondition(scores.count == labels.count)
        let positives = labels.filter { $0 }.count
        guard positives > 0 else { return 0 }
        let order = scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : (!labels[a] && labels[b])
        }
        var truePositives = 0
        var sum = 0.0
        for (rank, i) in order.enumerated() where labels[i] {
            truePositives += 1
            sum += Double(truePositives) / Double(rank + 1)
        }
        return sum / Double(positives)
    }

    /// Fraction of events whose thresholded score (≥ threshold) matches the label.
    public static func accuracy(scores: [Float], labels: [Bool], threshold: Float = 0.5) -> Double {
        guard !scores.isEmpty else { return 0 }
        return Double(zip(scores, labels).filter { ($0 >= threshold) == $1 }.count) / Double(scores.count)
    }
}
