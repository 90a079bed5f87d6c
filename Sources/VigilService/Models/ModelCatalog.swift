// What operators do with model versions while the service runs (`vigil models`): list them,
// make one live, go back to the previous live one. The running services notice the change
// by polling the live version between batches (ModelStore.liveVersion).
import Foundation
import VigilEngine
import VigilFeatures
import VigilPostgres

/// One row of `vigil.models` as operators see it.
public struct ModelVersionInfo: Sendable, Equatable {
    public var version: Int64
    public var parent: Int64?
    public var createdAt: Date
    public var promotedAt: Date?
    public var retiredAt: Date?
    public var checksum: String
    public var note: String?
    /// When registry retention dropped the weights (the row stays), or nil.
    public var weightsPrunedAt: Date?
    public var isLive: Bool { promotedAt != nil && retiredAt == nil }
}

public struct ModelCatalog: Sendable {
    public let connection: PostgresConnection
    public let schema: String

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
    }

    public func list() async throws -> [ModelVersionInfo] {
        let rows = try await connection.query("""
            SELECT version, parent_version, created_at, promoted_at, retired_at, checksum, note, weights_pruned_at
            FROM \(quoteIdentifier(schema)).models WHERE kind = $1 ORDER BY version
            """, [.text(ModelStore.kind)])
        return try rows.map {
            ModelVersionInfo(version: try $0.decode(0), parent: try $0.decode(1), createdAt: try $0.decode(2), promotedAt: try $0.decode(3),
                             retiredAt: try $0.decode(4), checksum: try $0.decode(5), note: try $0.decode(6),
                             weightsPrunedAt: try $0.decode(7))
        }
    }

    /// Registry retention: drops the weights of every version older than the `keep` newest,
    /// except the live one; the rows stay (lineage, metrics, checksum). Returns how many were
    /// pruned. A pruned version can no longer be promoted or rolled back to.
    @discardableResult
    public func pruneWeights(keeping keep: Int) async throws -> Int {
        guard keep >= 1 else { throw ServiceError(.invalidConfiguration, "keep at least 1 version's weights, got \(keep)") }
        let rows = try await connection.query("SELECT \(quoteIdentifier(schema)).prune_model_weights($1)", [.int32(Int32(clamping: keep))])
        return Int(try rows.first?.decode(0, as: Int32.self) ?? 0)
    }

    /// Stores a trained model set as a candidate (not live).
    public func store(_ set: ModelSet, note: String? = nil) async throws {
        let metrics = String(decoding: try JSONEncoder().encode(set.metrics), as: UTF8.self)
        try await connection.execute("""
            INSERT INTO \(quoteIdentifier(schema)).models (version, parent_version, kind, metrics, weights, checksum, note)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, [.int64(set.version), set.parent.map { .int64($0) } ?? .null, .text(ModelStore.kind), .jsonb(metrics),
                  .bytea(set.encoded()), .text(set.checksum), note.map { .text($0) } ?? .null])
    }

    /// Makes `version` the live one (retiring the current). Returns the version that was live.
    /// With `checked`, the stored set is decoded first and must match its checksum and
    /// version, and the feature spec of the live version (and of `spec`, when given):
    /// otherwise `.modelUnavailable` says why and nothing changes. The online trainer's own
    /// promotions skip the check (it just built and stored the set).
    @discardableResult
    public func promote(_ version: Int64, checked: Bool = false, spec: FeatureSpec? = nil) async throws -> Int64? {
        let s = quoteIdentifier(schema)
        let name = self.schema
        let compatibility = try spec.map(ModelCompatibility.init(spec:))
        return try await connection.transaction { session -> Int64? in
            try session.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("vigil models " + s)])
            let rows = try session.query("SELECT weights, checksum FROM \(s).models WHERE kind = $1 AND version = $2",
                                         [.text(ModelStore.kind), .int64(version)])
            guard let row = rows.first else {
                throw ServiceError(.modelUnavailable, "model version \(version) is not in \(name).models")
            }
            if checked {
                let set = try ModelStore.decode(version: version, weights: try row.decode(0), checksum: try row.decode(1), schema: name)
                if let problem = compatibility?.problem(with: set) { throw ServiceError(.modelUnavailable, "refused: \(problem)") }
                let liveRows = try session.query("""
                    SELECT version, weights, checksum FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL AND version <> $2
                    """, [.text(ModelStore.kind), .int64(version)])
                if let live = liveRows.first, let liveSet = try? ModelStore.decode(version: try live.decode(0), weights: try live.decode(1),
                                                                                  checksum: try live.decode(2), schema: name),
                   let problem = ModelCompatibility.problem(with: set, replacing: liveSet) {
                    throw ServiceError(.modelUnavailable, "refused: \(problem) (the live version \(liveSet.version)'s spec)")
                }
            }
            let live = try session.query("SELECT version FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
                                         [.text(ModelStore.kind)]).first.map { try $0.decode(0, as: Int64.self) }
            guard live != version else { return live }
            try session.execute("UPDATE \(s).models SET retired_at = now() WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
                                [.text(ModelStore.kind)])
            try session.execute("UPDATE \(s).models SET promoted_at = now(), retired_at = NULL WHERE kind = $1 AND version = $2",
                                [.text(ModelStore.kind), .int64(version)])
            return live
        }
    }

    /// Makes the most recently retired live version live again. Returns it.
    @discardableResult
    public func rollback() async throws -> Int64 {
        let s = quoteIdentifier(schema)
        let previous = try await connection.query("""
            SELECT version FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NOT NULL
            ORDER BY retired_at DESC, version DESC LIMIT 1
            """, [.text(ModelStore.kind)]).first.map { try $0.decode(0, as: Int64.self) }
        guard let previous else { throw ServiceError(.modelUnavailable, "no earlier live version to roll back to") }
        try await promote(previous, checked: true)
        return previous
    }
}
