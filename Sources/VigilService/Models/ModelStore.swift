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
    let statements: VigilSchema

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
        statements = VigilSchema(schema)
    }

    /// The live (promoted, not retired) model set, or nil for an empty registry. Throws
    /// `.modelUnavailable` when the live row cannot be decoded or does not match its checksum.
    public func loadPromoted() async throws -> ModelSet? {
        guard let version = try await liveVersion() else { return nil }
        return try await load(version: version)
    }

    /// One stored version, decoded and checked against its row (checksum, version). Throws
    /// `.modelUnavailable` naming what is wrong; nil when there is no such row.
    public func load(version: Int64) async throws -> ModelSet? {
        let statements = self.statements
        guard let stored = try await connection.withSession({ try statements.storedModel(version: version, on: $0) }) else { return nil }
        return try Self.decode(version: version, weights: stored.weights, checksum: stored.checksum, schema: schema)
    }

    /// A row's weights as a model set, checked against the row: the weights must decode, their
    /// SHA-256 must be the stored checksum, and the set must carry the row's version.
    /// Pruned weights (`prune_model_weights`, registry retention) are `.modelUnavailable` too.
    static func decode(version: Int64, weights: [UInt8]?, checksum stored: String, schema: String) throws -> ModelSet {
        guard let weights else {
            throw ServiceError(.modelUnavailable, "model version \(version) in \(schema).models has no weights: they were pruned by registry retention")
        }
        let set: ModelSet
        do { set = try ModelSet.decode(weights) } catch {
            throw ServiceError(.modelUnavailable, "model version \(version) in \(schema).models cannot be decoded: \(error)")
        }
        guard set.checksum == stored else {
            throw ServiceError(.modelUnavailable, "model version \(version) in \(schema).models does not match its stored checksum")
        }
        guard set.version == version else {
            throw ServiceError(.modelUnavailable, "model version \(version) in \(schema).models holds the weights of version \(set.version)")
        }
        return set
    }

    /// Versions that were live before, most recently live first (the fallback when the live
    /// version cannot be used at start).
    public func formerlyLiveVersions() async throws -> [Int64] {
        let statements = self.statements
        return try await connection.withSession { try statements.formerlyLiveModelVersions(limit: 20, on: $0) }
    }

    /// Stores `set` as the promoted version if no version is live yet. Returns the live set:
    /// `set`, or the one another instance stored first (a cold-start race).
    public func promoteFirst(_ set: ModelSet) async throws -> ModelSet {
        let statements = self.statements
        let inserted = try await connection.transaction { session -> Bool in
            // Serialise cold starts of concurrent instances on this schema.
            try statements.lockModelRegistry(on: session)
            guard try statements.liveModelVersion(on: session) == nil else { return false }
            try statements.insertModel(set, note: "cold start", live: true, on: session)
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
        let statements = self.statements
        return try await connection.withSession { try statements.liveModelVersion(on: $0) }
    }

    /// Brings `registry` to the live version in the database: promotes it when retained in
    /// memory, else loads, checks (`compatibility`) and publishes it. Returns the new version
    /// when it changed. A version that cannot be used throws `.modelUnavailable` and leaves
    /// the registry as it was: scoring goes on with the current version.
    public func follow(_ registry: ModelRegistry, compatibility: ModelCompatibility) async throws -> Int64? {
        guard let live = try await liveVersion(), live != registry.currentVersion else { return nil }
        if registry.modelSet(version: live) != nil {
            try registry.promote(version: live)
        } else {
            guard let set = try await load(version: live) else { return nil }
            if let problem = compatibility.problem(with: set) { throw ServiceError(.modelUnavailable, problem) }
            // This instance's trainer promotes in the database first and publishes here just
            // after; if that happened while the set was loading, `adopt` takes the retained copy.
            try registry.adopt(set)
        }
        return registry.currentVersion
    }
}
