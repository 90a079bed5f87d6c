import Foundation
import Testing
import VigilML
@testable import VigilEngine

/// A compressed version goes through the promotion guard against its parent on the held-back
/// events, as the trainer's challenger does on its window.
@Suite struct CompressionGuardTests {
    /// The fixture's parent with its classifier trained further on every event, held-back ones
    /// included (as a live model has learnt from the recent traffic a recording holds): a
    /// teacher a starved student cannot match on the held-back events.
    static func seasonedParentAndTraffic() throws -> (set: ModelSet, data: CompressionData) {
        let (parent, data) = try ModelCompressionTests.trainedSetAndTraffic()
        var classifier = parent.classifier
        let n = data.count, w = classifier.configuration.denseWidth
        let rows = try parent.scorer.anomaly.withAnomalyInputs(rows: data.rows(0..<n), count: n)
        let labels = (0..<n).map { data.truth[$0] == true ? Float(1) : 0 }
        for _ in 0..<12 {
            for start in stride(from: 0, to: n - 128, by: 128) {
                try classifier.train(rows: Array(rows[(start * w)..<((start + 128) * w)]), sparse: data.sparseBatch(start..<(start + 128)),
                                     labels: Array(labels[start..<(start + 128)]), count: 128)
            }
        }
        try classifier.calibrate(rows: rows, sparse: data.sparseBatch(0..<n), labels: labels, count: n)
        let set = try ModelSet(version: 2, parent: 1, createdAtMillis: parent.createdAtMillis, featureSpecHash: parent.featureSpecHash,
                               architecture: parent.architecture, autoencoder: parent.autoencoder, classifier: classifier,
                               metrics: ModelMetrics(classifierSteps: classifier.steps))
        return (set, data)
    }

    @Test func aStudentThatTrailsItsParentIsRefusedAndStoredOnlyByOverride() throws {
        let (parent, data) = try Self.seasonedParentAndTraffic()
        // The guard's defaults, as serve's trainer runs it: the 750 held-back events hold 39 frauds (≥ 20).
        var settings = CompressionGuardSettings()
        #expect(data.truth.suffix(750).filter { $0 == true }.count >= settings.trainer.guardMinimumFrauds)
        // One hidden unit, no categorical inputs, one pass that sees only the teacher: far too little.
        var options = DistillationOptions()
        options.hiddenWidths = [1]
        options.usesSparseInputs = false
        options.epochs = 1
        options.labelWeight = 0
        #expect {
            try ModelCompression.distil(parent, data: data, options: options, guardSettings: settings, version: 9, createdAtMillis: 0)
        } throws: { error in
            guard let e = error as? EngineError else { return false }
            print("refused: \(e.message)")
            return e.code == .guardRejected && e.message.contains("reject by average_precision")
        }
        settings.override = true
        let stored = try ModelCompression.distil(parent, data: data, options: options, guardSettings: settings, version: 9, createdAtMillis: 0)
        let verdict = try #require(stored.metrics.compression?.verdict)
        #expect(!verdict.promote && verdict.overridden && verdict.metric == "average_precision")
        let ap = try #require(verdict.averagePrecision), parentAP = try #require(verdict.parentAveragePrecision)
        #expect(ap < parentAP - (verdict.margin ?? 0))
        // The version's guard metrics are the student's own figures on the held-back events.
        #expect(stored.metrics.averagePrecision == verdict.averagePrecision && stored.metrics.windowFrauds == verdict.frauds)
    }

    @Test func aStudentThatKeepsUpIsStoredWithTheVerdict() throws {
        let (parent, data) = try ModelCompressionTests.trainedSetAndTraffic()
        var options = DistillationOptions()
        options.hiddenWidths = [8]
        options.epochs = 6
        let child = try ModelCompression.distil(parent, data: data, options: options, version: 9, createdAtMillis: 1_767_225_800_000)
        let verdict = try #require(child.metrics.compression?.verdict)
        print("student verdict: \(verdict.summary)")
        #expect(verdict.promote && !verdict.diverged && !verdict.overridden && verdict.metric == "average_precision")
        #expect(verdict.labels == child.metrics.compression!.heldBackLabels && verdict.frauds == child.metrics.compression!.heldBackFrauds)
        #expect(child.metrics.averagePrecision == verdict.averagePrecision && child.metrics.logLoss == verdict.logLoss)
        #expect(child.metrics.classifierSteps == child.classifier.steps)
        // The verdict is part of the stored metrics (and so of the checksum).
        let back = try ModelSet.decode(child.encoded())
        #expect(back.metrics == child.metrics && back.checksum == child.checksum)
        let json = String(decoding: try JSONEncoder().encode(child.metrics), as: UTF8.self)
        #expect(json.contains("\"guard\":{") && json.contains("\"promote\":true"))
    }

    /// Without enough frauds held back the guard cannot judge a classifier, and a parent whose
    /// classifier has learnt is not replaced on no evidence.
    @Test func tooFewHeldBackFraudsIsNoEvidenceAndRefused() throws {
        let (parent, data) = try ModelCompressionTests.trainedSetAndTraffic()
        var settings = CompressionGuardSettings()
        settings.trainer.guardMinimumFrauds = data.count
        #expect {
            try ModelCompression.distil(parent, data: data, guardSettings: settings, version: 9, createdAtMillis: 0)
        } throws: { error in
            (error as? EngineError)?.code == .guardRejected && "\(error)".contains("no evidence")
        }
        #expect(throws: EngineError.self) {
            try ModelCompression.int8(parent, data: data, guardSettings: settings, version: 9, createdAtMillis: 0)
        }
    }

    /// Too few frauds and a parent whose classifier has not learnt leave only reconstruction
    /// error to judge by, which says nothing of a student's classifier (the autoencoder is the
    /// parent's).
    @Test func aStudentOfAColdParentWithoutFraudsHasNoEvidenceForItsClassifier() throws {
        let (trained, data) = try ModelCompressionTests.trainedSetAndTraffic()
        let stream = Fixture.stream(transactions: 3000)
        let cold = try Fixture.coldStart(events: stream.events)
        #expect(!cold.classifierIsTrained && trained.classifierIsTrained)
        var settings = CompressionGuardSettings()
        settings.trainer.guardMinimumFrauds = data.count
        #expect {
            try ModelCompression.distil(cold, data: data, guardSettings: settings, version: 9, createdAtMillis: 0)
        } throws: { error in
            (error as? EngineError)?.code == .guardRejected && "\(error)".contains("no evidence")
        }
        // Its INT8 form is judged on the autoencoder, which INT8 does change.
        settings.override = true
        let int8 = try ModelCompression.int8(cold, data: data, calibrationEvents: 1024, guardSettings: settings, version: 9, createdAtMillis: 0)
        print("cold int8 verdict: \(int8.metrics.compression!.verdict!.summary)")
        #expect(int8.metrics.compression?.verdict?.metric == "reconstruction_error")
    }

    @Test func anInt8VersionIsJudgedOnTheSameEvents() throws {
        let (parent, data) = try ModelCompressionTests.trainedSetAndTraffic()
        let child = try ModelCompression.int8(parent, data: data, calibrationEvents: 1024, version: 7, createdAtMillis: 0)
        let verdict = try #require(child.metrics.compression?.verdict)
        print("int8 verdict: \(verdict.summary)")
        #expect(verdict.promote && verdict.metric == "average_precision")
        // Same master weights: only quantisation separates the two.
        let ap = try #require(verdict.averagePrecision), parentAP = try #require(verdict.parentAveragePrecision)
        #expect(abs(ap - parentAP) < 0.05)
        #expect(abs(try #require(verdict.reconstructionError) - verdict.parentReconstructionError!) < 0.05 * verdict.parentReconstructionError!)
        // Its guard metrics at the top level stay the parent's.
        #expect(child.metrics.averagePrecision == parent.metrics.averagePrecision)
    }
}
