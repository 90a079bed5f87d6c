import Foundation
import Testing
import VigilML
@testable import VigilEngine

@Suite struct ModelRegistryTests {
    static func sets(_ count: Int) throws -> [ModelSet] {
        let stream = Fixture.stream(transactions: 400)
        let base = try Fixture.coldStart(events: stream.events, warmUp: 256)
        return try (1...count).map { try base.renumbered(version: Int64($0), parent: $0 == 1 ? nil : Int64($0 - 1)) }
    }

    @Test func publishPromoteAndRollbackMoveTheLiveVersion() throws {
        let s = try Self.sets(4)
        let registry = ModelRegistry(initial: s[0])
        #expect(registry.currentVersion == 1 && registry.nextVersion() == 2)
        try registry.publish(s[1], replacing: 1)
        try registry.publish(s[2], replacing: 2)
        #expect(registry.currentVersion == 3)
        #expect(try registry.rollback().version == 2)
        #expect(try registry.rollback().version == 1)
        #expect(throws: EngineError.self) { try registry.rollback() }
        #expect(try registry.promote(version: 3).version == 3)
        #expect(try registry.rollback().version == 1)
        #expect(throws: EngineError.self) { try registry.promote(version: 42) }
        #expect(registry.swapCount == 6)
    }

    @Test func staleCandidatesAndTakenVersionsAreRefused() throws {
        let s = try Self.sets(3)
        let registry = ModelRegistry(initial: s[0])
        try registry.publish(s[1])
        let conflict = #expect(throws: EngineError.self) { try registry.publish(s[2], replacing: 1) }
        #expect(conflict?.code == .versionConflict)
        #expect(throws: EngineError.self) { try registry.publish(s[1]) }
        #expect(registry.currentVersion == 2)
    }

    /// The serve loop follows the database's live version while the instance's own trainer
    /// publishes the same version: whichever comes second must not fail (it stopped serve).
    @Test func adoptingAVersionTheTrainerAlreadyPublishedKeepsTheRetainedCopy() throws {
        let s = try Self.sets(3)
        let loaded = try s[1].renumbered(version: 2, parent: 1)  // the same version, read back from the database
        let registry = ModelRegistry(initial: s[0])
        try registry.publish(s[1], replacing: 1)
        let swaps = registry.swapCount
        #expect(try registry.adopt(loaded) === s[1])
        #expect(registry.current === s[1] && registry.swapCount == swaps)
        // Not retained yet: adopted as a new live set; a retained older one is made live again.
        #expect(try registry.adopt(s[2]) === s[2])
        #expect(registry.currentVersion == 3 && registry.nextVersion() == 4)
        #expect(try registry.adopt(loaded).version == 2)
        #expect(registry.current === s[1])
        // The trainer's publish after the follower adopted its version is refused as stale,
        // which the trainer reports as a dropped candidate rather than an error of serve.
        #expect(throws: EngineError.self) { try registry.publish(s[2], replacing: 3) }
    }

    /// The other order: the follower adopts the stored copy of the trainer's version before
    /// the trainer publishes it here. The publication went live and is accepted as such, so
    /// the trainer goes on from it instead of restarting as if another instance had promoted.
    @Test func publishingAVersionTheFollowerAlreadyAdoptedIsAcceptedAsLive() throws {
        let s = try Self.sets(3)
        let loaded = try s[1].renumbered(version: 2, parent: 1)
        let registry = ModelRegistry(initial: s[0])
        try registry.adopt(loaded)
        let swaps = registry.swapCount
        #expect(try registry.publish(s[1], replacing: 1).version == 2)
        #expect(registry.current === loaded && registry.swapCount == swaps)
        // A version that is not live is still refused when the expected one is not live.
        #expect(throws: EngineError.self) { try registry.publish(s[2], replacing: 1) }
    }

    @Test func historyIsBoundedAndNeverDropsTheLiveSet() throws {
        let s = try Self.sets(6)
        let registry = ModelRegistry(initial: s[0], retainedVersions: 3)
        for set in s.dropFirst() { try registry.publish(set) }
        #expect(registry.retainedVersions == [4, 5, 6])
        try registry.promote(version: 4)
        #expect(registry.modelSet(version: 1) == nil)
        #expect(try registry.rollback().version == 6)
    }

    @Test func aModelSetRoundTripsThroughItsStoredFormAndCorruptionIsCaught() throws {
        let set = try Self.sets(1)[0]
        let bytes = set.encoded()
        #expect(bytes == set.encoded(), "encoding is deterministic")
        #expect(SHA256.hex(SHA256.hash(bytes.dropLast(32))) == set.checksum)
        let back = try ModelSet.decode(bytes)
        #expect(back.checksum == set.checksum && back.version == set.version && back.parent == set.parent)
        #expect(back.architecture == set.architecture && back.metrics == set.metrics)
        let rows = (0..<(set.featureWidth * 8)).map { Float($0 % 7) / 7 - 0.5 }
        let sparse = SparseBatch(lists: (0..<8).map { [Int32($0), Int32(64 + $0)] })
        #expect(try back.scorer.score(batch: rows, sparse: sparse, count: 8) == set.scorer.score(batch: rows, sparse: sparse, count: 8))
        for position in [0, 10, bytes.count / 2, bytes.count - 1] {
            var bad = bytes
            bad[position] ^= 0x40
            #expect(throws: EngineError.self) { try ModelSet.decode(bad) }
        }
        #expect(throws: EngineError.self) { try ModelSet.decode(Array(bytes.prefix(100))) }
    }

    /// A set stored by an earlier release re-encodes to other bytes (here: a metrics field this
    /// build does not know). Its checksum stays the stored bytes' digest, which is what the
    /// registry row holds, so the row still loads after an upgrade.
    @Test func aDecodedSetKeepsTheChecksumOfItsStoredBytes() throws {
        let set = try Self.sets(1)[0]
        let bytes = set.encoded()
        // Header: magic 4, format 2, version 8, parent 8, created 8, spec hash 8, precisions 2.
        let lengthAt = 40
        let length = Int(bytes[lengthAt]) | Int(bytes[lengthAt + 1]) << 8 | Int(bytes[lengthAt + 2]) << 16 | Int(bytes[lengthAt + 3]) << 24
        let json = Array(bytes[(lengthAt + 4)..<(lengthAt + 4 + length)])
        #expect(json.first == UInt8(ascii: "{"))
        let older = Array(#"{"retired_field":1,"#.utf8) + json.dropFirst()
        var n = UInt32(older.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &n) { Array($0) }
        let body = Array(bytes[..<lengthAt]) + lengthBytes + older + Array(bytes[(lengthAt + 4 + length)..<(bytes.count - 32)])
        let stored = body + SHA256.hash(body)
        let back = try ModelSet.decode(stored)
        #expect(back.checksum == SHA256.hex(SHA256.hash(body)))
        #expect(back.checksum != set.checksum)
        #expect(back.metrics == set.metrics)
    }

    @Test func scorersNeverSeeAHalfBuiltModelWhileVersionsAreSwapped() throws {
        let s = try Self.sets(2)
        let registry = ModelRegistry(initial: s[0], retainedVersions: 64)
        // Distinct models per version: each differs from the base by its classifier seed.
        var versions: [ModelSet] = [s[0]]
        for v in 2...12 {
            var a = s[0].architecture
            a.seed = UInt64(v)
            let classifier = try SparseClassifier(configuration: a.classifierConfiguration(featureWidth: s[0].featureWidth, sparseDimension: 64 + 16 + 4 + 128))
            versions.append(try ModelSet(version: Int64(v), parent: Int64(v - 1), createdAtMillis: 0, featureSpecHash: s[0].featureSpecHash,
                                         architecture: a, autoencoder: s[0].autoencoder, classifier: classifier, metrics: ModelMetrics()))
        }
        let rows = (0..<(s[0].featureWidth * 16)).map { Float(($0 * 37) % 11) / 11 - 0.5 }
        let sparse = SparseBatch(lists: (0..<16).map { [Int32($0), Int32(70 + $0)] })
        let expected = try Dictionary(uniqueKeysWithValues: versions.map { ($0.version, try $0.scorer.score(batch: rows, sparse: sparse, count: 16)) })
        let published = versions
        let done = DispatchSemaphore(value: 0)
        let publisher = Thread {
            for set in published.dropFirst() { _ = try? registry.publish(set) }
            for _ in 0..<20 { _ = try? registry.rollback(); _ = try? registry.promote(version: 12) }
            done.signal()
        }
        publisher.start()
        var seen = Set<Int64>()
        for _ in 0..<400 {
            let live = registry.current
            seen.insert(live.version)
            // Whatever version was picked, it scores exactly as that version does at rest.
            #expect(try live.scorer.score(batch: rows, sparse: sparse, count: 16) == expected[live.version])
        }
        done.wait()
        #expect(registry.currentVersion == 12)
        #expect(!seen.isEmpty)
    }
}

@Suite struct ModelRecordTests {
    @Test func aModelSetBecomesARowAndComesBackOnlyIfTheRowIsConsistent() throws {
        let set = try ModelRegistryTests.sets(2)[1]
        let row = set.record
        #expect(row.version == 2 && row.parent == 1 && row.checksum == set.checksum)
        #expect(row.metricsJSON.contains("\"classifier_steps\":0"))
        let back = try ModelSet(record: row)
        #expect(back.checksum == set.checksum && back.version == 2)
        var wrongChecksum = row
        wrongChecksum.checksum = String(repeating: "0", count: 64)
        #expect(throws: EngineError.self) { try ModelSet(record: wrongChecksum) }
        var wrongVersion = row
        wrongVersion.version = 7
        #expect(throws: EngineError.self) { try ModelSet(record: wrongVersion) }
    }
}
