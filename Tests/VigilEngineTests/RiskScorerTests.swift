import Foundation
import Testing
import VigilFeatures
import VigilML
@testable import VigilEngine

@Suite struct RiskScorerTests {
    @Test func scoresEveryEventIntoTheCallersBatchWithRisksInRangeAndOneVersion() throws {
        let stream = Fixture.stream(transactions: 1500)
        let models = try Fixture.coldStart(events: stream.events)
        let registry = ModelRegistry(initial: models)
        var extractor = try Fixture.extractor()
        let scorer = try RiskScorer(registry: registry, extractor: extractor)
        var batch = ScoredBatch()
        var risks: [Float] = []
        for start in stride(from: 0, to: stream.events.count, by: 256) {
            let slice = stream.events[start..<min(start + 256, stream.events.count)]
            try scorer.score(slice, extractor: &extractor, into: &batch)
            #expect(batch.count == slice.count)
            #expect(batch.modelVersion == 1)
            for i in 0..<batch.count {
                #expect(batch.risks[i] >= 0 && batch.risks[i] <= 1)
                #expect(batch.reasons[i].count <= 3)
                // Cold start: the classifier is untrained, so the risk is the autoencoder's alone.
                #expect(batch.risks[i] == scorer.configuration.anomalyRisk(batch.scores[i].anomaly))
                for r in batch.reasons[i] {
                    #expect(r.kind == .reconstruction)
                    #expect(Fixture.spec.denseNames.contains(r.name))
                    #expect(r.weight > scorer.configuration.minimumReconstructionRatio)
                }
            }
            risks += batch.risks[0..<batch.count]
        }
        #expect(risks.count == stream.events.count)
        #expect(Set(risks).count > 100, "risks should vary across events")
    }

    @Test func sameEventsAndModelsGiveTheSameBitsWhateverTheBatchSize() throws {
        let stream = Fixture.stream(transactions: 600)
        let models = try Fixture.coldStart(events: stream.events)
        func run(batchSize: Int) throws -> ([Float], [ReasonList]) {
            var extractor = try Fixture.extractor()
            let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor)
            var batch = ScoredBatch()
            var risks: [Float] = []
            var reasons: [ReasonList] = []
            for start in stride(from: 0, to: stream.events.count, by: batchSize) {
                try scorer.score(stream.events[start..<min(start + batchSize, stream.events.count)], extractor: &extractor, into: &batch)
                risks += batch.risks[0..<batch.count]
                reasons += batch.reasons[0..<batch.count]
            }
            return (risks, reasons)
        }
        let (a, ra) = try run(batchSize: 100)
        let (b, rb) = try run(batchSize: 100)
        let (c, rc) = try run(batchSize: 37)
        #expect(a == b && ra == rb)
        // Batching changes only the BLAS summation order, never which events are compared.
        #expect(zip(a, c).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(ra, rc).filter { $0.map(\.name) != $1.map(\.name) }.count <= 3)
    }

    @Test func aTrainedClassifierAddsItsContributionsAsReasonsForRiskyEvents() throws {
        let stream = Fixture.stream(transactions: 1200)
        let cold = try Fixture.coldStart(events: stream.events)
        // Train the classifier briefly on the truth so it is "trained"; explanations then use it.
        var extractor = try Fixture.extractor()
        var rows: [Float] = [], sparse: [[Int32]] = [], labels: [Float] = []
        for e in stream.events {
            let v = extractor.extract(e)
            rows += v.dense
            sparse.append(v.sparse.map { Int32($0) })
            labels.append(stream.fraud[e.eventID]! ? 1 : 0)
        }
        var classifier = cold.classifier
        let inputs = try cold.scorer.anomaly.withAnomalyInputs(rows: rows, count: stream.events.count)
        for _ in 0..<5 {
            try classifier.train(rows: inputs, sparse: SparseBatch(lists: sparse), labels: labels, count: stream.events.count)
        }
        let trained = try ModelSet(version: 2, parent: 1, createdAtMillis: 0, featureSpecHash: cold.featureSpecHash,
                                   architecture: cold.architecture, autoencoder: cold.autoencoder, classifier: classifier,
                                   metrics: ModelMetrics())
        #expect(trained.classifierIsTrained)
        var config = RiskScorerConfiguration()
        config.explainAbove = 0  // explain every event, so the path surely runs
        var scoringExtractor = try Fixture.extractor()
        let scorer = try RiskScorer(registry: ModelRegistry(initial: trained), extractor: scoringExtractor, configuration: config)
        var batch = ScoredBatch()
        try scorer.score(Array(stream.events.prefix(200)), extractor: &scoringExtractor, into: &batch)
        let names = Set(Fixture.spec.denseNames + ["cae.anomaly_score", "cae.embedding"])
        var classifierReasons = 0
        var explainedEvents = 0
        for i in 0..<batch.count {
            if batch.reasons[i].contains(where: { $0.kind == .classifier }) { explainedEvents += 1 }
            let expected = 1 - (1 - batch.scores[i].fraudProbability) * (1 - config.anomalyWeight * config.anomalyRisk(batch.scores[i].anomaly))
            #expect(abs(batch.risks[i] - expected) < 1e-6)
            for r in batch.reasons[i] where r.kind == .classifier {
                classifierReasons += 1
                #expect(names.contains(r.name))
                #expect(r.weight > 0)
            }
        }
        #expect(classifierReasons > 0)
        // The costly path is bounded per batch.
        #expect(explainedEvents > 0 && explainedEvents <= config.maxExplainedPerBatch)

        // Without reasons (a backtest): the same scores and risks to the bit, and no reasons,
        // also in a batch that reuses one which had reasons.
        var quiet = config
        quiet.reasonsPerEvent = 0
        var quietExtractor = try Fixture.extractor()
        let quietScorer = try RiskScorer(registry: ModelRegistry(initial: trained), extractor: quietExtractor, configuration: quiet)
        try quietScorer.score(Array(stream.events.prefix(200)), extractor: &quietExtractor, into: &batch)
        var again = ScoredBatch()
        var againExtractor = try Fixture.extractor()
        try scorer.score(Array(stream.events.prefix(200)), extractor: &againExtractor, into: &again)
        #expect(batch.count == again.count)
        for i in 0..<batch.count {
            #expect(batch.scores[i] == again.scores[i] && batch.risks[i].bitPattern == again.risks[i].bitPattern)
            #expect(batch.reasons[i].isEmpty)
        }
    }

    @Test func aModelSetForAnotherFeatureSpecIsRefused() throws {
        let stream = Fixture.stream(transactions: 300)
        let models = try Fixture.coldStart(events: stream.events, warmUp: 256)
        var other = Fixture.spec
        other.dense.removeLast()
        let extractor = try FeatureExtractor(spec: other)
        #expect(throws: EngineError.self) { try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor) }
    }

    @Test func coldStartNeedsEnoughWarmUpRows() throws {
        #expect(throws: EngineError.self) {
            try ModelSet.coldStart(featureSpecHash: 1, featureWidth: 3, sparseDimension: 0, warmUpRows: [1, 2, 3], count: 1)
        }
    }
}

@Suite struct ScoredDecisionTests {
    @Test func everyScoredEventGetsADecisionWithItsScoresVersionAndReasons() throws {
        let stream = Fixture.stream(transactions: 700)
        let registry = ModelRegistry(initial: try Fixture.coldStart(events: stream.events))
        var extractor = try Fixture.extractor()
        let scorer = try RiskScorer(registry: registry, extractor: extractor)
        // Thresholds low enough that some events are reviewed and blocked.
        let policy = try DecisionPolicy(configuration: .init(reviewThreshold: 0.05, blockThreshold: 0.5))
        var batch = ScoredBatch()
        var decisions: [Decision] = []
        let events = stream.events[100..<600]
        try scorer.score(stream.events[0..<100], extractor: &extractor, into: &batch)
        try scorer.score(events, extractor: &extractor, into: &batch)
        policy.decide(events, in: batch, into: &decisions)
        #expect(decisions.count == events.count)
        for (i, (d, e)) in zip(decisions, events).enumerated() {
            #expect(d.eventID == e.eventID && d.cardID == e.cardID && d.amount == e.amount)
            #expect(d.risk == batch.risks[i] && d.anomalyScore == batch.scores[i].anomaly && d.modelVersion == 1)
            #expect(d.outcome == policy.outcome(risk: d.risk))
            #expect(d.reasons == batch.reasons[i])
        }
        let outcomes = Set(decisions.map(\.outcome))
        #expect(outcomes.contains(.allow) && outcomes.count >= 2, "\(outcomes)")
    }
}
