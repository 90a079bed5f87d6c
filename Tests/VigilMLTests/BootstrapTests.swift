// The bootstrap intervals: the same metric as BinaryMetrics on resampled copies, deterministic,
// and calibrated (they cover the population's AUPRC about as often as they claim).
import Testing
@testable import VigilML

struct BootstrapTests {
    typealias Sample = (scores: [Float], fraud: [Bool])

    /// Scores with ties (a few hundred levels), both zeros, frauds higher on average.
    static func sample(_ count: Int, seed: UInt64, fraudEvery: UInt64 = 13, levels: UInt64 = 300) -> Sample {
        var g = SeededGenerator(seed: seed)
        var scores: [Float] = [], fraud: [Bool] = []
        for _ in 0..<count {
            let f = g.next() % fraudEvery == 0
            var level = Float(g.next() % levels) / Float(levels)
            if f { level = min(1, level + 0.3) }
            scores.append(level == 0 && g.next() % 2 == 0 ? -0.0 : level)
            fraud.append(f)
        }
        return (scores, fraud)
    }

    /// With every run's weight its own size, a "replicate" is the sample itself: the step sum
    /// and the budget cuts give BinaryMetrics' numbers bit for bit.
    @Test(arguments: [1, 2, 17, 5_000])
    func unitWeightsGiveTheMetricsThemselves(count: Int) throws {
        let s = Self.sample(count, seed: UInt64(count))
        let m = BinaryMetrics(scores: s.scores, isFraud: s.fraud)
        let runs = BinaryMetrics.bootstrapRuns(m.sortedScores, m.sortedFraud)
        #expect(runs.map(\.count).reduce(0, +) == count)
        #expect(runs.filter(\.fraud).map(\.count).reduce(0, +) == m.positives)
        #expect(runs.count <= 4 * m.positives + 1)
        let budgets = [0.001, 0.01, 0.05, 0.5, 1]
        let r = BinaryMetrics.resampled(runs, weights: runs.map(\.count), budgets: budgets)
        #expect(r.auprc == m.auprc)
        for (i, b) in budgets.enumerated() {
            let direct = m.atBudget(b)
            #expect(r.budgets[i].precision == direct.precision && r.budgets[i].recall == direct.recall, "budget \(b)")
        }
    }

    /// Drawing one count per run is the same as one per event: the metrics of a replicate
    /// depend on each run's total only. Checked against BinaryMetrics over the copies spelt out.
    @Test func runTotalsGiveTheMetricsOfTheCopiesSpeltOut() throws {
        let s = Self.sample(3_000, seed: 9, levels: 40)
        let m = BinaryMetrics(scores: s.scores, isFraud: s.fraud)
        let runs = BinaryMetrics.bootstrapRuns(m.sortedScores, m.sortedFraud)
        var g = SeededGenerator(seed: 4)
        for _ in 0..<5 {
            let perEvent = m.sortedScores.map { _ in Int(g.next() % 4) }  // 0...3 copies of each event
            var copies: [Float] = [], copyFraud: [Bool] = [], runWeights: [Int] = [], e = 0
            for run in runs {
                var w = 0
                for _ in 0..<run.count {
                    for _ in 0..<perEvent[e] {
                        copies.append(m.sortedScores[e])
                        copyFraud.append(m.sortedFraud[e])
                    }
                    w += perEvent[e]
                    e += 1
                }
                runWeights.append(w)
            }
            // Copies are laid out in ranking order, so input order breaks ties as it did.
            let expanded = BinaryMetrics(scores: copies, isFraud: copyFraud)
            let budgets = [0.003, 0.02, 0.3]
            let r = BinaryMetrics.resampled(runs, weights: runWeights, budgets: budgets)
            #expect(r.auprc == expanded.auprc)
            for (i, b) in budgets.enumerated() {
                #expect(r.budgets[i].precision == expanded.atBudget(b).precision && r.budgets[i].recall == expanded.atBudget(b).recall)
            }
        }
    }

    @Test func theSameSeedGivesTheSameIntervalsAndTheyHoldTheEstimate() throws {
        let s = Self.sample(20_000, seed: 3)
        let m = BinaryMetrics(scores: s.scores, isFraud: s.fraud)
        let a = m.bootstrap(budgets: [0.01, 0.05], replicates: 300, seed: 7)
        #expect(a == m.bootstrap(budgets: [0.01, 0.05], replicates: 300, seed: 7))
        #expect(a != m.bootstrap(budgets: [0.01, 0.05], replicates: 300, seed: 8))
        let ap = try #require(m.auprc), ci = try #require(a.auprc)
        #expect(ci.low < ap && ap < ci.high && ci.high - ci.low < 0.1, "\(ci) around \(ap)")
        for (i, b) in [0.01, 0.05].enumerated() {
            let recall = try #require(m.atBudget(b).recall), interval = try #require(a.recallAtBudget[i])
            #expect(interval.low <= recall && recall <= interval.high, "recall@\(b) \(recall) outside \(interval)")
            #expect(a.precisionAtBudget[i] != nil)
        }
        let none = BinaryMetrics(scores: [0.1, 0.2], isFraud: [false, false]).bootstrap(budgets: [0.5], replicates: 20, seed: 1)
        #expect(none.auprc == nil && none.recallAtBudget == [nil] && none.precisionAtBudget[0] != nil)
    }

    /// Over many independent samples of one population, the 90% interval holds the
    /// population's AUPRC in about 90% of them (the bias of AUPRC on ~150 frauds is small
    /// against the interval's width).
    @Test func intervalsCoverThePopulationValueAsOftenAsTheyClaim() throws {
        let population = Self.sample(400_000, seed: 100, fraudEvery: 20, levels: 1 << 20)
        let truth = try #require(BinaryMetrics(scores: population.scores, isFraud: population.fraud).auprc)
        let samples = 200
        var covered = 0
        for k in 0..<samples {
            let s = Self.sample(3_000, seed: 1_000 + UInt64(k), fraudEvery: 20, levels: 1 << 20)
            let ci = try #require(BinaryMetrics(scores: s.scores, isFraud: s.fraud).bootstrap(budgets: [], replicates: 300, level: 0.9, seed: UInt64(k)).auprc)
            if ci.low <= truth && truth <= ci.high { covered += 1 }
        }
        // Binomial(200, 0.9): 99.9% of runs of a calibrated interval land in 160...193.
        #expect((160...193).contains(covered), "covered \(covered) of \(samples)")
    }

    @Test(arguments: [1, 3, 9, 10, 25, 1_000, 250_000])
    func poissonCountsHaveTheirMeanAndVariance(mean: Int) {
        var g = SeededGenerator(seed: UInt64(mean))
        let sampler = PoissonSampler(mean: mean)
        let draws = (0..<40_000).map { _ in Double(sampler.draw(using: &g)) }
        let average = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - average) * ($0 - average) }.reduce(0, +) / Double(draws.count - 1)
        let m = Double(mean)
        // Standard error of the mean is sqrt(m / 40,000); of the variance about m·sqrt(2 / 40,000) for large m.
        #expect(abs(average - m) < 5 * (m / 40_000).squareRoot(), "mean \(average) for \(mean)")
        #expect(abs(variance / m - 1) < 0.05, "variance \(variance) for \(mean)")
        #expect(draws.allSatisfy { $0 >= 0 })
        var again = SeededGenerator(seed: UInt64(mean))
        #expect(sampler.draw(using: &again) == Int(draws[0]))
    }
}
