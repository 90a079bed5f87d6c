// The persistent side of the model registry: model sets in `vigil.models`. The service
// loads the promoted version at start; with an empty registry it trains a first version
// from early traffic and stores it (promoted) so every instance and every restart scores
// with the same models.
import Foundation
import VigilEngine
import VigilPostgres

public struct ModelStore: Sendable {
    public let connection: PostgresConnection
    public let schema: String
    /// `models.kind` of Vigil's model sets.
    public static let kind = "vigil-model-set"

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
    }

    /// The live (promoted, not retired) model set, or nil for an empty registry.
    public func loadPromoted() async throws -> ModelSet? {
        let s = quoteIdentifier(schema)
        let rows = try await connection.query(
            "SELECT version, weights, checksum FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
            [.text(Self.kind)])
        guard let row = rows.first else { return nil }
        let version = try row.decode(0, as: Int64.self)
        let bytes = try row.decode(1, as: [UInt8].self)
        let stored = try row.decode(2, as: String.self)
        let set: ModelSet
        do { set = try ModelSet.decode(bytes) } catch {
            throw ServiceError(.modelUnavailable, "model version \(version) in \(schema).models cannot be decoded: \(error)")
        }
        guard set.checksum == stored, set.version == version else {
            throw ServiceError(.modelUnavailable, "model version \(version) does not match its stored checksum or version")
        }
        return set
    }

    /// Stores `set` as the promoted version if no version is live yet. Returns the live set:
    /// `set`, or the one another instance stored first (a cold-start race).
    public func promoteFirst(_ set: ModelSet) async throws -> ModelSet {
        let s = quoteIdentifier(schema)
        let metrics = String(decoding: try JSONEncoder().encode(set.metrics), as: UTF8.self)
        let inserted = try await connection.transaction { session -> Bool in
            // Serialise cold starts of concurrent instances on this schema.
            try session.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("vigil models " + s)])
            let live = try session.query("SELECT 1 FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
                                         [.text(Self.kind)])
            guard live.isEmpty else { return false }
            try session.execute("""
                INSERT INTO \(s).models (version, parent_version, kind, metrics, weights, checksum, promoted_at, note)
                VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
                """, [.int64(set.version), set.parent.map { .int64($0) } ?? .null, .text(Self.kind), .jsonb(metrics),
                      .bytea(set.encoded()), .text(set.checksum), .text("cold start")])
            return true
        }
        if inserted { return set }
        guard let live = try await loadPromoted() else {
            throw ServiceError(.modelUnavailable, "the registry had a live model a moment ago and has none now")
        }
        return live
    }
}

extension ModelStore {
    /// The live version number, or nil for an empty registry (cheap: polled between batches).
    public func liveVersion() async throws -> Int64? {
        try await connection.query(
            "SELECT version FROM \(quoteIdentifier(schema)).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
            [.text(Self.kind)]).first.map { try $0.decode(0, as: Int64.self) }
    }

    /// Brings `registry` to the live version in the database: promotes it when retained in
    /// memory, else loads and publishes it. Returns the new version when it changed.
    public func follow(_ registry: ModelRegistry) async throws -> Int64? {
        guard let live = try await liveVersion(), live != registry.currentVersion else { return nil }
        if registry.modelSet(version: live) != nil {
            try registry.promote(version: live)
        } else {
            guard let set = try await loadPromoted() else { return nil }
            // This instance's trainer promotes in the database first and publishes here just
            // after; if that happened while the set was loading, `adopt` takes the retained copy.
            try registry.adopt(set)
        }
        return registry.currentVersion
    }
}
