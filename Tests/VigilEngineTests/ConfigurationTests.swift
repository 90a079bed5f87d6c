import Foundation
import Testing
import VigilML
@testable import VigilEngine

@Suite struct ConfigurationTests {
    @Test func outOfRangeSettingsAreRejected() throws {
        var risk = RiskScorerConfiguration()
        risk.anomalyScale = 0
        #expect(throws: EngineError.self) { try risk.validate() }
        risk = RiskScorerConfiguration()
        risk.reasonsPerEvent = 5
        #expect(throws: EngineError.self) { try risk.validate() }
        var trainer = OnlineTrainerConfiguration()
        trainer.guardWindow = 1
        #expect(throws: EngineError.self) { try trainer.validate() }
        trainer = OnlineTrainerConfiguration()
        trainer.publishInterval = .zero
        #expect(throws: EngineError.self) { try trainer.validate() }
        trainer = OnlineTrainerConfiguration()
        trainer.normalRegionSample = trainer.autoencoderBatch - 1
        #expect(throws: EngineError.self) { try trainer.validate() }
        try OnlineTrainerConfiguration().validate()
        try RiskScorerConfiguration().validate()
    }

    @Test func riskIsMonotoneAndBoundedAndIgnoresAnUntrainedClassifier() {
        let c = RiskScorerConfiguration()
        var last: Float = -1
        for a in stride(from: Float(-10), through: 30, by: 0.5) {
            let r = c.risk(Score(anomaly: a, fraudProbability: 0.9), classifierIsTrained: false)
            #expect(r >= last && r >= 0 && r <= 1)
            last = r
        }
        #expect(c.risk(Score(anomaly: c.anomalyMidpoint, fraudProbability: 1), classifierIsTrained: false) == 0.5)
        #expect(c.risk(Score(anomaly: -50, fraudProbability: 0.7), classifierIsTrained: true) > 0.69)
        #expect(c.risk(Score(anomaly: 50, fraudProbability: 0), classifierIsTrained: true) == c.anomalyWeight)
        #expect(c.risk(Score(anomaly: 50, fraudProbability: 1), classifierIsTrained: true) == 1)
    }

    @Test func metricsEncodeWithSnakeCaseKeysForTheModelsTable() throws {
        let m = ModelMetrics(averagePrecision: 0.5, logLoss: 0.2, windowLabels: 10, windowFrauds: 2)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(m), as: UTF8.self)
        #expect(text.contains("\"average_precision\":0.5") && text.contains("\"window_frauds\":2"))
        #expect(try JSONDecoder().decode(ModelMetrics.self, from: Data(text.utf8)) == m)
        // Versions stored before the prequential guard named the window a held-out set.
        let old = #"{"average_precision":0.5,"log_loss":0.2,"held_out_events":10,"held_out_fraud":2,"labelled_examples":0,"autoencoder_steps":0,"classifier_steps":0}"#
        #expect(try JSONDecoder().decode(ModelMetrics.self, from: Data(old.utf8)) == m)
    }
}
