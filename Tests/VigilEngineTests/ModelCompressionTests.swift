import Foundation
import Testing
import VigilFeatures
import VigilML
@testable import VigilEngine

@Suite struct ModelCompressionTests {
    /// A model set whose classifier has learnt from the stream's labels, and the stream's
    /// features (as serve extracts them) with their truth.
    static func trainedSetAndTraffic(events count: Int = 3000) throws -> (set: ModelSet, data: CompressionData) {
        let stream = Fixture.stream(transactions: count)
        let cold = try Fixture.coldStart(events: stream.events)
        var extractor = try Fixture.extractor()
        var data = CompressionData(featureWidth: Fixture.spec.dense.count, sparseWidth: extractor.sparseCount)
        for e in stream.events {
            let v = extractor.extract(e)
            data.append(features: v.dense[...], sparse: v.sparse[...], truth: [stream.fraud[e.eventID]])
        }
        // Teach the classifier from the first half (Float32 master weights, as the trainer does).
        var classifier = cold.classifier
        let half = data.count / 2
        let rows = try cold.scorer.anomaly.withAnomalyInputs(rows: data.rows(0..<half), count: half)
        let labels = (0..<half).map { data.truth[$0] == true ? Float(1) : 0 }
        for _ in 0..<6 {
            for start in stride(from: 0, to: half - 128, by: 128) {
                let w = classifier.configuration.denseWidth
                try classifier.train(rows: Array(rows[(start * w)..<((start + 128) * w)]), sparse: data.sparseBatch(start..<(start + 128)),
                                     labels: Array(labels[start..<(start + 128)]), count: 128)
            }
        }
        try classifier.calibrate(rows: rows, sparse: data.sparseBatch(0..<half), labels: labels, count: half)
        let set = try ModelSet(version: 2, parent: 1, createdAtMillis: cold.createdAtMillis, featureSpecHash: cold.featureSpecHash,
                               architecture: cold.architecture, autoencoder: cold.autoencoder, classifier: classifier,
                               metrics: ModelMetrics(averagePrecision: 0.5, windowLabels: 10, windowFrauds: 2, classifierSteps: classifier.steps))
        return (set, data)
    }

    @Test func int8VersionIsMeasuredAgainstItsParentAndRoundTripsThroughTheStoredForm() throws {
        let (parent, data) = try Self.trainedSetAndTraffic()
        let child = try ModelCompression.int8(parent, data: data, calibrationEvents: 1024, holdBack: 0.25, version: 7, createdAtMillis: 1_767_225_700_000)
        #expect(child.parent == 2 && child.version == 7)
        #expect(child.architecture.int8Calibration?.count == 1024)
        #expect(child.scorer.classifier.isInt8 && child.scorer.anomaly.isInt8)
        #expect(!parent.scorer.classifier.isInt8)
        let c = try #require(child.metrics.compression)
        print("compression metrics: \(c)")
        #expect(c.parentVersion == 2 && c.heldBackEvents == 750 && c.calibrationEvents == 1024)
        #expect(c.agreement >= 0.99)
        #expect(c.maxProbabilityDifference < 0.05 && c.meanProbabilityDifference < 0.01)
        #expect(c.weightBytes < c.parentWeightBytes)
        if let ap = c.averagePrecision, let parentAP = c.parentAveragePrecision { #expect(ap >= 0.97 * parentAP) }
        // The guard's figures stay the parent's; the models are the parent's master weights.
        #expect(child.metrics.averagePrecision == parent.metrics.averagePrecision)
        #expect(child.classifier.steps == parent.classifier.steps)

        let bytes = child.encoded()
        #expect(bytes[4] == 2 && bytes[5] == 0, "a set with INT8 calibration is stored as format 2")
        let back = try ModelSet.decode(bytes)
        #expect(back.checksum == child.checksum && back.architecture == child.architecture && back.metrics == child.metrics)
        let rows = data.rows(2000..<2064), sparse = data.sparseBatch(2000..<2064)
        #expect(try back.scorer.score(batch: rows, sparse: sparse, count: 64) == child.scorer.score(batch: rows, sparse: sparse, count: 64))
        for position in [bytes.count - 40, bytes.count - 33] {
            var bad = bytes
            bad[position] ^= 0x40
            #expect(throws: EngineError.self) { try ModelSet.decode(bad) }
        }
        // A version trained from it (same architecture) is frozen as INT8 again.
        let next = try ModelSet(version: 8, parent: 7, createdAtMillis: child.createdAtMillis, featureSpecHash: child.featureSpecHash,
                                architecture: child.architecture, autoencoder: child.autoencoder, classifier: child.classifier, metrics: ModelMetrics())
        #expect(next.scorer.classifier.isInt8 && next.scorer.anomaly.isInt8, "a set trained from an INT8 set is INT8 too")
    }

    /// Sets without INT8 calibration are written exactly in format 1 (the layout every stored
    /// set so far has), so old rows keep their checksums and still decode.
    @Test func setsWithoutInt8StayInFormat1ByteForByte() throws {
        let stream = Fixture.stream(transactions: 700)
        let set = try Fixture.coldStart(events: stream.events)
        var old: [UInt8] = Array("VGMS".utf8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { old.append(contentsOf: $0) } }
        put(UInt16(1)); put(set.version); put(Int64.min); put(set.createdAtMillis); put(set.featureSpecHash)
        put(set.architecture.autoencoderPrecision.rawValue); put(set.architecture.classifierPrecision.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(set.metrics))
        put(UInt32(json.count)); old += json
        let created = Date(timeIntervalSince1970: Double(set.createdAtMillis) / 1000)
        let cae = ModelFile.encode(set.autoencoder, featureSpecHash: set.featureSpecHash, createdAt: created)
        put(UInt64(cae.count)); old += cae
        let cls = ModelFile.encode(set.classifier, featureSpecHash: set.featureSpecHash, createdAt: created)
        put(UInt64(cls.count)); old += cls
        old += SHA256.hash(old)
        #expect(set.encoded() == old)
        let back = try ModelSet.decode(old)
        #expect(back.architecture.int8Calibration == nil && back.checksum == set.checksum)
    }

    /// Compression is applied at publication: the learner trains the Float32 master weights
    /// of an INT8 live set, and what it publishes is frozen as INT8 again.
    @Test func theOnlineLearnerKeepsAnInt8VersionLearningAndPublishesItAsInt8() throws {
        let stream = Fixture.stream(transactions: 5000)
        let cold = try Fixture.coldStart(events: stream.events)
        var extractor = try Fixture.extractor()
        var data = CompressionData(featureWidth: Fixture.spec.dense.count, sparseWidth: extractor.sparseCount)
        for e in stream.events.prefix(1600) {
            let v = extractor.extract(e)
            data.append(features: v.dense[...], sparse: v.sparse[...], truth: [stream.fraud[e.eventID]])
        }
        let int8 = try ModelCompression.int8(cold, data: data, calibrationEvents: 1024, version: 2, createdAtMillis: cold.createdAtMillis)
        let h = try TrainingHarness(initial: int8)
        try h.run { _ in _ = h.trainer.learnQueued() }
        let live = h.registry.current
        #expect(live.version > 2, "no promotion: \(h.trainer.checks.map(\.summary))")
        #expect(live.classifierIsTrained && live.architecture.int8Calibration == int8.architecture.int8Calibration)
        #expect(live.scorer.classifier.isInt8 && live.scorer.anomaly.isInt8)
    }

    @Test func compressionRefusesDataThatDoesNotFitTheVersion() throws {
        let stream = Fixture.stream(transactions: 700)
        let set = try Fixture.coldStart(events: stream.events)
        var narrow = CompressionData(featureWidth: 3, sparseWidth: 0)
        narrow.append(features: [1, 2, 3][...], sparse: [][...], truth: [nil])
        #expect(throws: EngineError.self) { try ModelCompression.int8(set, data: narrow, version: 2, createdAtMillis: 0) }
        var tiny = CompressionData(featureWidth: set.featureWidth, sparseWidth: 4)
        tiny.append(features: [Float](repeating: 0, count: set.featureWidth)[...], sparse: [0, 1, 2, 3][...], truth: [nil])
        #expect(throws: EngineError.self) { try ModelCompression.int8(set, data: tiny, version: 2, createdAtMillis: 0) }
        var outside = CompressionData(featureWidth: set.featureWidth, sparseWidth: 1)
        for _ in 0..<8 { outside.append(features: [Float](repeating: 0, count: set.featureWidth)[...], sparse: [1 << 30][...], truth: [nil]) }
        #expect(throws: EngineError.self) { try ModelCompression.int8(set, data: outside, version: 2, createdAtMillis: 0) }
    }
}

@Suite struct ModelDistillationTests {
    @Test func aStudentTaughtByItsParentIsSmallerAndComparedOnTheHeldBackEvents() throws {
        let (parent, data) = try ModelCompressionTests.trainedSetAndTraffic()
        var options = DistillationOptions()
        options.hiddenWidths = [8]
        options.epochs = 4
        let child = try ModelCompression.distil(parent, data: data, options: options, version: 9, createdAtMillis: 1_767_225_800_000)
        #expect(child.classifier.configuration.hiddenWidths == [8] && child.architecture.classifierHiddenWidths == [8])
        #expect(child.autoencoder.steps == parent.autoencoder.steps)
        let c = try #require(child.metrics.compression)
        print("distillation metrics: \(c)")
        #expect(c.method == "distil" && c.heldBackEvents == 750)
        #expect(c.weightBytes < c.parentWeightBytes)
        // This fixture's teacher is weak (a few hundred labels); the student is held to tracking
        // it. How good a student gets is `tools/bench models`' question.
        #expect(c.averagePrecision != nil && c.parentAveragePrecision != nil)
        #expect(c.agreement >= 0.95 && c.meanProbabilityDifference < 0.1)
        // The student's set round-trips and keeps learning like any classifier.
        let back = try ModelSet.decode(child.encoded())
        #expect(back.checksum == child.checksum && back.architecture == child.architecture)
        var student = back.classifier
        let rows = try back.scorer.anomaly.withAnomalyInputs(rows: data.rows(0..<64), count: 64)
        try student.train(rows: rows, sparse: data.sparseBatch(0..<64), labels: (0..<64).map { data.truth[$0] == true ? 1 : 0 }, count: 64)
        #expect(student.steps == back.classifier.steps + 1)
    }
}
