// The model registry's statements (`models`): versions, their weights and checksums, and
// which one is live (promoted and not retired).
import Foundation
import VigilEngine
import VigilPostgres

extension VigilSchema {
    /// `models.kind` of Vigil's model sets.
    public static let modelKind = "vigil-model-set"

    /// A stored version's weights (nil once registry retention pruned them) and checksum.
    struct StoredModel: Sendable {
        var version: Int64
        var weights: [UInt8]?
        var checksum: String
    }

    /// The live version, or nil for an empty registry.
    func liveModelVersion(on session: PostgresSession) throws -> Int64? {
        try session.query("""
            SELECT version FROM \(s).models WHERE kind = \(Self.modelKind) AND promoted_at IS NOT NULL AND retired_at IS NULL
            """).first.map { try $0.decode("version", as: Int64.self) }
    }

    /// One version's stored weights, or nil when there is no such row.
    func storedModel(version: Int64, on session: PostgresSession) throws -> StoredModel? {
        try session.query("""
            SELECT version, weights, checksum FROM \(s).models WHERE kind = \(Self.modelKind) AND version = \(version)
            """).first.map(Self.storedModel)
    }

    /// The live version's stored weights unless it is `version`.
    func liveModel(otherThan version: Int64, on session: PostgresSession) throws -> StoredModel? {
        try session.query("""
            SELECT version, weights, checksum FROM \(s).models
            WHERE kind = \(Self.modelKind) AND promoted_at IS NOT NULL AND retired_at IS NULL AND version <> \(version)
            """).first.map(Self.storedModel)
    }

    private static func storedModel(_ row: PostgresRow) throws -> StoredModel {
        StoredModel(version: try row.decode("version"), weights: try row.decode("weights"), checksum: try row.decode("checksum"))
    }

    /// Versions that were live before, most recently live first (at most `limit`).
    func formerlyLiveModelVersions(limit: Int, on session: PostgresSession) throws -> [Int64] {
        try session.query("""
            SELECT version FROM \(s).models
            WHERE kind = \(Self.modelKind) AND promoted_at IS NOT NULL AND retired_at IS NOT NULL
            ORDER BY retired_at DESC, version DESC LIMIT \(limit)
            """).map { try $0.decode("version", as: Int64.self) }
    }

    /// The next free version number.
    func nextModelVersion(on session: PostgresSession) throws -> Int64 {
        try session.query("SELECT coalesce(max(version), 0) + 1 AS next FROM \(s).models").first
            .map { try $0.decode("next", as: Int64.self) } ?? 1
    }

    /// Stores `set` (not live unless `live`, which is only for an empty registry's first version).
    func insertModel(_ set: ModelSet, weights: [UInt8]? = nil, note: String?, live: Bool = false, on session: PostgresSession) throws {
        let metrics = String(decoding: try JSONEncoder().encode(set.metrics), as: UTF8.self)
        try session.execute("""
            INSERT INTO \(s).models (version, parent_version, kind, metrics, weights, checksum, note, promoted_at)
            VALUES (\(set.version), \(set.parent), \(Self.modelKind), \(PostgresValue.jsonb(metrics)), \(weights ?? set.encoded()),
                    \(set.checksum), \(note), CASE WHEN \(live) THEN now() END)
            """)
    }

    /// Makes `version` live and retires the version that was (call under `lockModelRegistry`).
    func makeModelLive(version: Int64, on session: PostgresSession) throws {
        try session.execute("""
            UPDATE \(s).models SET retired_at = now() WHERE kind = \(Self.modelKind) AND promoted_at IS NOT NULL AND retired_at IS NULL
            """)
        try session.execute("""
            UPDATE \(s).models SET promoted_at = now(), retired_at = NULL WHERE kind = \(Self.modelKind) AND version = \(version)
            """)
    }

    /// Every version as operators see it, oldest first.
    func modelVersions(on session: PostgresSession) throws -> [ModelVersionInfo] {
        try session.query("""
            SELECT version, parent_version, created_at, promoted_at, retired_at, checksum, note, weights_pruned_at
            FROM \(s).models WHERE kind = \(Self.modelKind) ORDER BY version
            """).map {
            ModelVersionInfo(version: try $0.decode("version"), parent: try $0.decode("parent_version"), createdAt: try $0.decode("created_at"),
                             promotedAt: try $0.decode("promoted_at"), retiredAt: try $0.decode("retired_at"),
                             checksum: try $0.decode("checksum"), note: try $0.decode("note"),
                             weightsPrunedAt: try $0.decode("weights_pruned_at"))
        }
    }

    /// Registry retention (`prune_model_weights`): how many versions lost their weights.
    func pruneModelWeights(keeping keep: Int, on session: PostgresSession) throws -> Int {
        let pruned = try session.query("SELECT \(s).prune_model_weights(\(Int32(clamping: keep))) AS pruned").first
        return Int(try pruned?.decode("pruned", as: Int32?.self) ?? 0)
    }
}
