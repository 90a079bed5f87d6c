// The ranking metrics against independent brute-force computations, ties included.
import Testing
@testable import VigilML

struct BinaryMetricsTests {
    @Test func radixSortOrdersLikeSort() {
        var g = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 255, 256, 10_000] {
            // Distinct keys shaped like BinaryMetrics' (rank bits high, index low), plus full-width ones.
            var keys = (0..<count).map { UInt64(UInt32.random(in: 0...UInt32.max, using: &g)) << 32 | UInt64($0) }
            keys += (0..<(count / 2)).map { _ in UInt64.random(in: 0...UInt64.max, using: &g) }
            var sorted = keys
            BinaryMetrics.radixSort(&sorted)
            #expect(sorted == keys.sorted(), "\(count) keys")
        }
    }

    let scores: [Float] = [0.9, 0.8, 0.8, 0.7, 0.7, 0.7, 0.3, 0.2, 0.3, 0.05]
    let fraud = [true, false, true, true, false, false, false, true, true, false]

    /// ROC-AUC as the probability that a random fraud outranks a random legit event, ties counting half.
    func pairwiseAUC() -> Double {
        var wins = 0.0, pairs = 0.0
        for i in scores.indices where fraud[i] {
            for j in scores.indices where !fraud[j] {
                pairs += 1
                wins += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0)
            }
        }
        return wins / pairs
    }

    /// Average precision from its definition: for every distinct threshold t, the recall
    /// gained by "score ≥ t" times the precision at t.
    func definitionalAP() -> Double {
        let thresholds = Set(scores).sorted(by: >)
        let positives = Double(fraud.filter { $0 }.count)
        var ap = 0.0, previousRecall = 0.0
        for t in thresholds {
            let flagged = scores.indices.filter { scores[$0] >= t }
            let tp = Double(flagged.filter { fraud[$0] }.count)
            let recall = tp / positives
            ap += (recall - previousRecall) * tp / Double(flagged.count)
            previousRecall = recall
        }
        return ap
    }

    @Test func auprcAndAUCMatchIndependentComputationsWithTies() throws {
        let m = BinaryMetrics(scores: scores, isFraud: fraud)
        #expect(m.positives == 5 && m.negatives == 5)
        let ap = try #require(m.auprc), auc = try #require(m.rocAUC)
        #expect(abs(ap - definitionalAP()) < 1e-12)
        #expect(abs(auc - pairwiseAUC()) < 1e-12)
        // By hand: thresholds 0.9 (1/1), 0.8 (2/3), 0.7 (3/6), 0.3 (4/8), 0.2 (5/9), each adding recall 1/5.
        #expect(abs(ap - (1.0 + 2.0 / 3 + 0.5 + 0.5 + 5.0 / 9) / 5) < 1e-12)
    }

    /// The guard's lean form is the same number as the full metrics, ties, -0 and 0 included.
    @Test func averagePrecisionAloneEqualsTheFullMetrics() throws {
        #expect(BinaryMetrics.averagePrecision(scores: scores, isFraud: fraud) == BinaryMetrics(scores: scores, isFraud: fraud).auprc)
        var g = SeededGenerator(seed: 5)
        for count in [1, 2, 17, 5_000] {
            // Scores from a few hundred levels (many ties), both zeros, and a sprinkling of frauds.
            let s = (0..<count).map { _ -> Float in
                let level = Float(g.next() % 300) / 300
                return level == 0 && g.next() % 2 == 0 ? -0.0 : level
            }
            let f = (0..<count).map { _ in g.next() % 13 == 0 }
            #expect(BinaryMetrics.averagePrecision(scores: s, isFraud: f) == BinaryMetrics(scores: s, isFraud: f).auprc, "\(count) scores")
        }
        #expect(BinaryMetrics.averagePrecision(scores: [0.1, 0.2], isFraud: [false, false]) == nil)
        #expect(BinaryMetrics.averagePrecision(scores: [], isFraud: []) == nil)
    }

    @Test func allTiedScoresGiveChanceLevels() throws {
        let m = BinaryMetrics(scores: [0.5, 0.5, 0.5, 0.5], isFraud: [true, false, false, false])
        #expect(m.rocAUC == 0.5)
        #expect(m.auprc == 0.25)
    }

    @Test func budgetsCountExactlyTheTopShareInInputOrderAtTies() {
        let m = BinaryMetrics(scores: scores, isFraud: fraud)
        let top2 = m.atBudget(0.2)  // 0.9 (fraud), then the first 0.8 (legit)
        #expect(top2.alerts == 2 && top2.precision == 0.5 && top2.recall == 0.2)
        let tiny = m.atBudget(0.001)  // at least one event
        #expect(tiny.alerts == 1 && tiny.precision == 1)
    }

    @Test func undefinedWithoutBothClasses() {
        let m = BinaryMetrics(scores: [0.1, 0.2], isFraud: [false, false])
        #expect(m.auprc == nil && m.rocAUC == nil)
        #expect(m.curves().pr.isEmpty)
    }
}

/// The plotted curves: every threshold's point, less only points no corner depends on.
struct BinaryMetricsCurveTests {
    /// Scores from `levels` distinct values (ties when few), frauds scoring higher on average.
    static func sample(_ count: Int, levels: Int, fraudEvery: UInt64, seed: UInt64) -> (scores: [Float], fraud: [Bool]) {
        var g = SeededGenerator(seed: seed)
        let fraud = (0..<count).map { _ in g.next() % fraudEvery == 0 }
        let scores = fraud.map { f -> Float in
            let u = Float(g.next() % UInt64(levels)) / Float(levels)
            return f ? (u + 0.6).squareRoot() / 1.3 : u * u
        }
        return (scores, fraud)
    }

    /// Every distinct threshold's (tp, fp), by brute force.
    static func fullCurve(_ scores: [Float], _ fraud: [Bool]) -> [(tp: Int, fp: Int)] {
        Set(scores).sorted(by: >).map { t in
            let flagged = scores.indices.filter { scores[$0] >= t }
            let tp = flagged.filter { fraud[$0] }.count
            return (tp, flagged.count - tp)
        }
    }

    @Test(arguments: [(2_000, 40), (2_000, 100_000), (300, 7)])
    func curvesKeepEveryCornerAndReproduceTheAreas(count: Int, levels: Int) throws {
        let (scores, fraud) = Self.sample(count, levels: levels, fraudEvery: 17, seed: UInt64(levels))
        let m = BinaryMetrics(scores: scores, isFraud: fraud)
        let (pr, roc) = m.curves()
        let p = Double(m.positives), n = Double(m.negatives)
        let full = Self.fullCurve(scores, fraud)
        let fullPR = full.map { CurvePoint(x: Double($0.tp) / p, y: Double($0.tp) / Double($0.tp + $0.fp)) }
        let fullROC = [CurvePoint(x: 0, y: 0)] + full.map { CurvePoint(x: Double($0.fp) / n, y: Double($0.tp) / p) }

        // The step function under the kept PR points has AUPRC's area; the trapezoids under
        // the kept ROC points, ROC-AUC's.
        var stepArea = 0.0, previousRecall = 0.0
        for q in pr {
            stepArea += (q.x - previousRecall) * q.y
            previousRecall = q.x
        }
        #expect(abs(stepArea - (try #require(m.auprc))) < 1e-12)
        let trapezoids = zip(roc, roc.dropFirst()).map { ($1.x - $0.x) * ($1.y + $0.y) / 2 }.reduce(0, +)
        #expect(abs(trapezoids - (try #require(m.rocAUC))) < 1e-12)

        // Kept points are threshold points in order; each left-out point repeats the last kept
        // one, or lies inside a horizontal or vertical run (PR) or on the segment between its
        // kept neighbours (ROC).
        func check(_ kept: [CurvePoint], _ all: [CurvePoint], onRun: (CurvePoint, CurvePoint, CurvePoint) -> Bool) {
            var k = 0
            for (i, q) in all.enumerated() {
                if k < kept.count && kept[k] == q { k += 1; continue }
                #expect(k > 0 && k < kept.count, "point \(i) left out at an end")
                guard k > 0 && k < kept.count else { return }
                #expect(onRun(kept[k - 1], q, kept[k]), "point \(i) \(q) is a corner between \(kept[k - 1]) and \(kept[k])")
            }
            #expect(k == kept.count, "a kept point that is no threshold's")
        }
        check(pr, fullPR) { a, q, b in a == q || (a.x == q.x && q.x == b.x) || (a.y == q.y && q.y == b.y) }
        check(roc, fullROC) { a, q, b in abs((q.x - a.x) * (b.y - a.y) - (q.y - a.y) * (b.x - a.x)) < 1e-12 }
        #expect(pr.first == fullPR.first && pr.last == fullPR.last && roc.last == CurvePoint(x: 1, y: 1))
    }

    /// About two points per fraud, however many events: all of the shape, none of the bulk.
    @Test func aLongStreamWithFewFraudsGivesAShortCurveAndAWellSpreadOneAFullOne() {
        let few = Self.sample(100_000, levels: 1 << 24, fraudEvery: 2_000, seed: 1)
        let m = BinaryMetrics(scores: few.scores, isFraud: few.fraud)
        let (pr, roc) = m.curves()
        #expect(pr.count <= 2 * m.positives + 2 && roc.count <= 2 * m.positives + 2, "\(pr.count), \(roc.count) points for \(m.positives) frauds")
        let many = Self.sample(20_000, levels: 1 << 24, fraudEvery: 10, seed: 2)
        let dense = BinaryMetrics(scores: many.scores, isFraud: many.fraud).curves()
        #expect(dense.pr.count > 1_000 && dense.roc.count > 1_000)  // the old stride kept 200
    }
}
