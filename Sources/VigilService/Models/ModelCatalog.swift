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

    let statements: VigilSchema

    public init(connection: PostgresConnection, schema: String) {
        self.connection = connection
        self.schema = schema
        statements = VigilSchema(schema)
    }

    public func list() async throws -> [ModelVersionInfo] {
        let statements = self.statements
        return try await connection.withSession { try statements.modelVersions(on: $0) }
    }

    /// Registry retention: drops the weights of every version older than the `keep` newest,
    /// except the live one; the rows stay (lineage, metrics, checksum). Returns how many were
    /// pruned. A pruned version can no longer be promoted or rolled back to.
    @discardableResult
    public func pruneWeights(keeping keep: Int) async throws -> Int {
        guard keep >= 1 else { throw ServiceError(.invalidConfiguration, "keep at least 1 version's weights, got \(keep)") }
        let statements = self.statements
        return try await connection.withSession { try statements.pruneModelWeights(keeping: keep, on: $0) }
    }

    /// Stores a trained model set as a candidate (not live).
    public func store(_ set: ModelSet, note: String? = nil) async throws {
        let statements = self.statements
        try await connection.withSession { try statements.insertModel(set, note: note, on: $0) }
    }

    /// Makes `version` the live one (retiring the current). Returns the version that was live.
    /// With `checked`, the stored set is decoded first and must match its checksum and
    /// version, and the feature spec of the live version (and of `spec`, when given):
    /// otherwise `.modelUnavailable` says why and nothing changes. The online trainer's own
    /// promotions skip the check (it just built and stored the set).
    @discardableResult
    public func promote(_ version: Int64, checked: Bool = false, spec: FeatureSpec? = nil) async throws -> Int64? {
        let statements = self.statements
        let name = self.schema
        let compatibility = try spec.map(ModelCompatibility.init(spec:))
        return try await connection.transaction { session -> Int64? in
            try statements.lockModelRegistry(on: session)
            guard let stored = try statements.storedModel(version: version, on: session) else {
                throw ServiceError(.modelUnavailable, "model version \(version) is not in \(name).models")
            }
            if checked {
                let set = try ModelStore.decode(version: version, weights: stored.weights, checksum: stored.checksum, schema: name)
                if let problem = compatibility?.problem(with: set) { throw ServiceError(.modelUnavailable, "refused: \(problem)") }
                if let live = try statements.liveModel(otherThan: version, on: session),
                   let liveSet = try? ModelStore.decode(version: live.version, weights: live.weights, checksum: live.checksum, schema: name),
                   let problem = ModelCompatibility.problem(with: set, replacing: liveSet) {
                    throw ServiceError(.modelUnavailable, "refused: \(problem) (the live version \(liveSet.version)'s spec)")
                }
            }
            let live = try statements.liveModelVersion(on: session)
            guard live != version else { return live }
            try statements.makeModelLive(version: version, on: session)
            return live
        }
    }

    /// Makes the most recently retired live version live again. Returns it.
    @discardableResult
    public func rollback() async throws -> Int64 {
        let statements = self.statements
        let previous = try await connection.withSession { try statements.formerlyLiveModelVersions(limit: 1, on: $0) }.first
        guard let previous else { throw ServiceError(.modelUnavailable, "no earlier live version to roll back to") }
        try await promote(previous, checked: true)
        return previous
    }
}
