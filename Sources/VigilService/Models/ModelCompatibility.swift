// Whether a stored model version can score here: its weights decode, its checksum and
// version match its row, and it was trained on this feature spec (hash and shapes). Used by
// `vigil models promote` before a version goes live, and by serve before it adopts one.
import VigilEngine
import VigilFeatures

public struct ModelCompatibility: Sendable {
    let specHash: UInt64
    let denseCount: Int
    let sparseDimension: Int

    public init(spec: FeatureSpec) throws {
        let extractor = try FeatureExtractor(spec: spec, configuration: FeatureStateConfiguration(maxCards: 1, maxMerchants: 1, maxTerminals: 1, recentEvents: 1))
        specHash = spec.specHash
        denseCount = extractor.denseCount
        sparseDimension = Int(extractor.sparseDimension)
    }

    /// Why `set` cannot score with this spec, or nil when it can.
    public func problem(with set: ModelSet) -> String? {
        Self.problem(with: set, specHash: specHash, denseCount: denseCount, sparseDimension: sparseDimension)
    }

    /// Why `set` cannot replace `live` (trained on another spec or shapes), or nil.
    public static func problem(with set: ModelSet, replacing live: ModelSet) -> String? {
        problem(with: set, specHash: live.featureSpecHash, denseCount: live.featureWidth,
                sparseDimension: live.classifier.configuration.hashBuckets)
    }

    static func problem(with set: ModelSet, specHash: UInt64, denseCount: Int, sparseDimension: Int) -> String? {
        if set.featureSpecHash != specHash {
            return "version \(set.version) was trained on feature spec \(hex(set.featureSpecHash)), not \(hex(specHash))"
        }
        if set.featureWidth != denseCount {
            return "version \(set.version) takes \(set.featureWidth) features, the spec has \(denseCount)"
        }
        let buckets = set.classifier.configuration.hashBuckets
        if buckets != 0, sparseDimension != 0, buckets != sparseDimension {
            return "version \(set.version) hashes into \(buckets) buckets, the spec into \(sparseDimension)"
        }
        return nil
    }

    static func hex(_ value: UInt64) -> String { String(value, radix: 16) }
}
