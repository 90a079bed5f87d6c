import Foundation
import Testing
@testable import VigilML

@Suite struct ModelFileTests {
    static func models() throws -> (ContrastiveAutoencoder, SparseClassifier) {
        var cae = try ContrastiveAutoencoder(configuration: AutoencoderTests.configuration())
        let data = SyntheticData.anomalyMixture(count: 256, width: AutoencoderTests.width, anomalyRate: 0.01, seed: 1)
        for _ in 0..<5 { try cae.train(rows: data.rows, count: 256) }
        try cae.fitNormalRegion(rows: data.rows, count: 256)
        let classifier = try ClassifierTests.trained(steps: 80)
        return (cae, classifier)
    }

    @Test func saveLoadGivesBitIdenticalScores() throws {
        let (cae, classifier) = try Self.models()
        let created = Date(timeIntervalSince1970: 1_790_000_000.123)
        let caeFile = ModelFile.encode(cae, featureSpecHash: 0xFEED, createdAt: created)
        let classifierFile = ModelFile.encode(classifier, featureSpecHash: 0xFEED, createdAt: created)
        let (caeBack, caeHeader) = try ModelFile.decodeAutoencoder(caeFile)
        let (classifierBack, classifierHeader) = try ModelFile.decodeClassifier(classifierFile)
        #expect(caeHeader.kind == .contrastiveAutoencoder && classifierHeader.kind == .sparseClassifier)
        #expect(caeHeader.featureSpecHash == 0xFEED && caeHeader.createdAtMilliseconds == 1_790_000_000_123)
        #expect(caeHeader.widths == [12, 24, 4, 24, 12])
        #expect(classifierHeader.widths == classifier.configuration.widths)
        #expect(try ModelFile.header(of: caeFile) == caeHeader)
        #expect(throws: Never.self) { try ModelFile.decodeClassifier(classifierFile, featureSpecHash: 0xFEED) }
        let spec = #expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(caeFile, featureSpecHash: 0xBEEF) }
        #expect(spec?.code == .featureSpecMismatch)
        // Re-encoding the loaded model reproduces the file byte for byte.
        #expect(ModelFile.encode(caeBack, featureSpecHash: 0xFEED, createdAt: created) == caeFile)
        #expect(ModelFile.encode(classifierBack, featureSpecHash: 0xFEED, createdAt: created) == classifierFile)

        let test = SyntheticData.anomalyMixture(count: 64, width: 12, anomalyRate: 0.1, seed: 9)
        for precision in WeightPrecision.allCases {
            let a = try cae.snapshot(precision: precision).score(rows: test.rows, count: 64)
            let b = try caeBack.snapshot(precision: precision).score(rows: test.rows, count: 64)
            #expect(a.map(\.bitPattern) == b.map(\.bitPattern))
        }
        let rule = SyntheticData.fraudRule(count: 64, width: 6, buckets: 32, riskyBuckets: 2, seed: 9)
        let p = try classifier.snapshot().score(rows: rule.rows, sparse: rule.sparse, count: 64)
        let q = try classifierBack.snapshot().score(rows: rule.rows, sparse: rule.sparse, count: 64)
        #expect(p.map(\.bitPattern) == q.map(\.bitPattern))
    }

    @Test func truncatedOrAlteredFilesFailWithClearErrors() throws {
        let (cae, classifier) = try Self.models()
        let file = ModelFile.encode(cae, featureSpecHash: 1)
        for length in [0, 3, 20, 60, file.count / 2, file.count - 1] {
            let error = #expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(Array(file.prefix(length))) }
            #expect(error?.code == .truncatedFile, "length \(length): \(String(describing: error))")
        }
        // Flip one bit anywhere after the magic/version/kind: the checksum catches it.
        for position in [8, 30, file.count / 3, file.count - 1] {
            var altered = file
            altered[position] ^= 0x10
            let error = #expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(altered) }
            #expect(error?.code == .checksumMismatch, "byte \(position): \(String(describing: error))")
        }
        var badMagic = file
        badMagic[0] = 0x58
        #expect((#expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(badMagic) })?.code == .unsupportedFormat)
        var badVersion = file
        badVersion[4] = 9
        #expect((#expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(badVersion) })?.code == .unsupportedFormat)
        let wrongKind = #expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(ModelFile.encode(classifier, featureSpecHash: 1)) }
        #expect(wrongKind?.code == .unsupportedFormat)
        #expect((#expect(throws: MLError.self) { try ModelFile.decodeAutoencoder(file + [0]) })?.code == .corruptPayload)
    }
}
