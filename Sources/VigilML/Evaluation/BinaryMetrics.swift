// Ranking metrics of scores against binary truth: exact, with tied scores handled as groups. The
// one AUPRC of the project: the promotion guard, replay metrics and benchmarks all use it.

/// Ranking metrics over (score, isFraud) pairs. Tied scores form one group: the PR and ROC
/// curves step over a whole group at once (no tie order can flatter the score), ROC-AUC uses
/// average ranks (Mann–Whitney U), and AUPRC is the step-wise average precision
/// Σ (Rₖ − Rₖ₋₁)·Pₖ over the distinct thresholds.
public struct BinaryMetrics: Sendable {
    /// Scores in descending order with their truth; ties keep input order (for budgets).
    let sortedScores: [Float]
    let sortedFraud: [Bool]
    public let positives: Int
    public let negatives: Int

    public init(scores: [Float], isFraud: [Bool]) {
        precondition(scores.count == isFraud.count, "one truth per score")
        // Score descending, then input order, as one integer per event: sorting plain UInt64s
        // is several times faster than a comparison closure over a million indices.
        var keys = Self.sortKeys(scores)
        Self.radixSort(&keys)
        sortedScores = keys.map { scores[Int(UInt32(truncatingIfNeeded: $0))] }
        sortedFraud = keys.map { isFraud[Int(UInt32(truncatingIfNeeded: $0))] }
        positives = isFraud.lazy.filter { $0 }.count
        negatives = isFraud.count - positives
        points = Self.thresholdPoints(sortedScores, sortedFraud)
    }

    /// `BinaryMetrics(scores:isFraud:).auprc` without keeping the sorted arrays or the curve:
    /// for callers that need only the number, often (the promotion guard, at every check).
    public static func averagePrecision(scores: [Float], isFraud: [Bool]) -> Double? {
        precondition(scores.count == isFraud.count, "one truth per score")
        let positives = isFraud.lazy.filter { $0 }.count
        guard positives > 0 else { return nil }
        var keys = sortKeys(scores)
        radixSort(&keys)
        var ap = 0.0, tp = 0, fp = 0, previousTP = 0, i = 0
        keys.withUnsafeBufferPointer { k in
            while i < k.count {
                let group = k[i] >> 32
                while i < k.count, k[i] >> 32 == group {
                    if isFraud[Int(UInt32(truncatingIfNeeded: k[i]))] { tp += 1 } else { fp += 1 }
                    i += 1
                }
                ap += precisionStep(tp: tp, fp: fp, previousTP: &previousTP, positives: positives)
            }
        }
        return ap
    }

    /// One distinct threshold's share of average precision: (Rₖ − Rₖ₋₁)·Pₖ.
    @inline(__always)
    static func precisionStep(tp: Int, fp: Int, previousTP: inout Int, positives: Int) -> Double {
        guard tp > previousTP else { return 0 }
        defer { previousTP = tp }
        return Double(tp - previousTP) / Double(positives) * Double(tp) / Double(tp + fp)
    }

    /// Score descending, then input order, as one integer per score (equal scores, -0 and 0
    /// among them, share the high half).
    static func sortKeys(_ scores: [Float]) -> [UInt64] {
        precondition(scores.count <= Int(UInt32.max), "at most 2^32 scores")
        var keys = [UInt64](repeating: 0, count: scores.count)
        for (i, score) in scores.enumerated() {
            let bits = (score == 0 ? 0 : score).bitPattern  // -0 ties with 0, as == says
            let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            keys[i] = UInt64(~ascending) << 32 | UInt64(UInt32(truncatingIfNeeded: i))
        }
        return keys
    }

    /// What `thresholdPoints()` returns, worked out once (AUPRC and the curves both walk it).
    private let points: [(threshold: Float, tp: Int, fp: Int)]

    /// Sorts ascending, a byte at a time from the lowest (LSD radix): the keys are distinct, so
    /// the order is the one `sort()` gives, several times faster for a million keys. Bytes that
    /// are the same in every key (the high bytes of small indices) are skipped.
    static func radixSort(_ keys: inout [UInt64]) {
        guard keys.count > 1 else { return }
        var scratch = [UInt64](repeating: 0, count: keys.count)
        var counts = [Int](repeating: 0, count: 256)
        for shift in stride(from: UInt64(0), to: 64, by: 8) {
            for i in counts.indices { counts[i] = 0 }
            keys.withUnsafeBufferPointer { k in
                counts.withUnsafeMutableBufferPointer { c in
                    for key in k { c[Int(truncatingIfNeeded: (key >> shift) & 0xFF)] += 1 }
                }
            }
            if counts.contains(keys.count) { continue }
            var total = 0
            for i in counts.indices {
                let c = counts[i]
                counts[i] = total
                total += c
            }
            keys.withUnsafeBufferPointer { k in
                scratch.withUnsafeMutableBufferPointer { out in
                    counts.withUnsafeMutableBufferPointer { c in
                        for key in k {
                            let b = Int(truncatingIfNeeded: (key >> shift) & 0xFF)
                            out[c[b]] = key
                            c[b] += 1
                        }
                    }
                }
            }
            swap(&keys, &scratch)
        }
    }

    /// One point per distinct threshold: (threshold, true positives, false positives) at "score ≥ threshold".
    func thresholdPoints() -> [(threshold: Float, tp: Int, fp: Int)] { points }

    private static func thresholdPoints(_ sortedScores: [Float], _ sortedFraud: [Bool]) -> [(threshold: Float, tp: Int, fp: Int)] {
        // Labelled as the result is: an unlabelled tuple array would be cast element by element.
        var points: [(threshold: Float, tp: Int, fp: Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < sortedScores.count {
            let s = sortedScores[i]
            while i < sortedScores.count, sortedScores[i] == s {
                if sortedFraud[i] { tp += 1 } else { fp += 1 }
                i += 1
            }
            points.append((s, tp, fp))
        }
        return points
    }

    /// Area under the precision–recall curve (average precision); nil without frauds.
    public var auprc: Double? {
        guard positives > 0 else { return nil }
        var ap = 0.0, previousTP = 0
        for p in thresholdPoints() { ap += Self.precisionStep(tp: p.tp, fp: p.fp, previousTP: &previousTP, positives: positives) }
        return ap
    }

    /// Area under the ROC curve with tied scores given their average rank; nil unless both classes occur.
    public var rocAUC: Double? {
        guard positives > 0, negatives > 0 else { return nil }
        // Ranks ascending: the sorted array is descending, so rank of position i is n - i.
        let n = sortedScores.count
        var rankSum = 0.0, i = 0
        while i < n {
            var j = i
            while j < n, sortedScores[j] == sortedScores[i] { j += 1 }
            // Positions i..<j hold ranks n-j+1 ... n-i; their average:
            let average = (Double(n - j + 1) + Double(n - i)) / 2
            for k in i..<j where sortedFraud[k] { rankSum += average }
            i = j
        }
        let u = rankSum - Double(positives) * Double(positives + 1) / 2
        return u / (Double(positives) * Double(negatives))
    }

    /// Precision and recall among the top `budget` share of events (at least one event).
    /// Ties at the cut are broken by input order, so the count is exactly the budget.
    public func atBudget(_ budget: Double) -> (alerts: Int, precision: Double?, recall: Double?) {
        let n = sortedScores.count
        guard n > 0 else { return (0, nil, nil) }
        let k = min(n, max(1, Int((budget * Double(n)).rounded(.up))))
        let tp = sortedFraud[0..<k].lazy.filter { $0 }.count
        return (k, Double(tp) / Double(k), positives > 0 ? Double(tp) / Double(positives) : nil)
    }

    /// The PR curve (recall, precision) and the ROC curve (false positive rate, true positive
    /// rate) over every distinct threshold, less only the points where neither curve turns:
    /// - PR: the curve is read as the step function whose area is `auprc` (precision Pₖ held
    ///   over (Rₖ₋₁, Rₖ]). A point is left out only inside a run of three or more with the same
    ///   recall (legitimate events between two frauds) or the same precision; every corner of
    ///   the step function stays, so Σ (Rₖ − Rₖ₋₁)·Pₖ over the returned points is `auprc`.
    /// - ROC: starts at (0, 0); a point is left out only where it lies on the straight line
    ///   through its neighbours, so the trapezoids under the returned points sum to `rocAUC`.
    /// Both tests are exact (integer counts), so a stream with few frauds gives a short curve
    /// and a long, well-separated one keeps all of its shape: about two points per fraud.
    public func curves() -> (pr: [CurvePoint], roc: [CurvePoint]) {
        let points = thresholdPoints()
        guard positives > 0, negatives > 0, !points.isEmpty else { return ([], []) }
        var pr: [CurvePoint] = [], roc: [CurvePoint] = []
        for i in points.indices {
            let p = points[i]
            let interior = i > 0 && i < points.count - 1
            let point = CurvePoint(x: Double(p.tp) / Double(positives), y: Double(p.tp) / Double(p.tp + p.fp))
            // Thresholds above the first fraud are all (0, 0): one of them is enough.
            if (!interior || !Self.prRunContinues(points[i - 1], p, points[i + 1])) && pr.last != point { pr.append(point) }
        }
        // ROC over (0, 0) followed by the thresholds, in counts.
        let counts = [(tp: 0, fp: 0)] + points.map { (tp: $0.tp, fp: $0.fp) }
        for i in counts.indices {
            let interior = i > 0 && i < counts.count - 1
            if !interior || !Self.collinear(counts[i - 1], counts[i], counts[i + 1]) {
                roc.append(CurvePoint(x: Double(counts[i].fp) / Double(negatives), y: Double(counts[i].tp) / Double(positives)))
            }
        }
        return (pr, roc)
    }

    /// True when b sits inside a straight horizontal or vertical run of the PR curve: a, b and
    /// c share their recall (true positives) or their precision (tp / (tp + fp), compared as
    /// exact fractions).
    static func prRunContinues(_ a: (threshold: Float, tp: Int, fp: Int), _ b: (threshold: Float, tp: Int, fp: Int),
                               _ c: (threshold: Float, tp: Int, fp: Int)) -> Bool {
        if a.tp == b.tp && b.tp == c.tp { return true }
        func samePrecision(_ x: (threshold: Float, tp: Int, fp: Int), _ y: (threshold: Float, tp: Int, fp: Int)) -> Bool {
            // x.tp / x.n == y.tp / y.n, as x.tp·y.n == y.tp·x.n without overflow.
            let l = x.tp.multipliedFullWidth(by: y.tp + y.fp), r = y.tp.multipliedFullWidth(by: x.tp + x.fp)
            return l.high == r.high && l.low == r.low
        }
        return samePrecision(a, b) && samePrecision(b, c)
    }

    /// True when b lies on the segment from a to c in (fp, tp) counts: the two steps are parallel.
    static func collinear(_ a: (tp: Int, fp: Int), _ b: (tp: Int, fp: Int), _ c: (tp: Int, fp: Int)) -> Bool {
        // Counts are at most 2³², so each product is below 2⁶³.
        (b.tp - a.tp) * (c.fp - b.fp) == (c.tp - b.tp) * (b.fp - a.fp)
    }
}

/// One point of a plotted curve.
public struct CurvePoint: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}
