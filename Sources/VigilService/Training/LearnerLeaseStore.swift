// Learning across a group (migration 0013): claiming and giving up the learner lease,
// reading where the live version left the training topic, and the fenced publication that
// stores, records the topic positions of and promotes a learner's version in one transaction,
// under the lease row's lock. The statements are VigilSchema's.
import Foundation
import VigilEngine
import VigilPostgres

struct LearnerLeaseStore: Sendable {
    let connection: PostgresConnection
    let schema: String
    let groupID: String
    var statements: VigilSchema { VigilSchema(schema) }

    /// SQLSTATE raised by `check_learner_token` for a token that is no longer current.
    static let fencedState = "VL001"

    /// Takes or renews the lease for `holder`: its token while it holds it, nil while another
    /// member does (see `claim_learner_lease`).
    func claim(holder: String, ttlMillis: Int) async throws -> Int64? {
        let (statements, group) = (self.statements, groupID)
        return try await connection.withSession { try statements.claimLearnerLease(group: group, holder: holder, ttlMillis: ttlMillis, on: $0) }
    }

    /// Ends the lease at once so another member need not wait out the TTL.
    func release(holder: String, token: Int64) async throws {
        let (statements, group) = (self.statements, groupID)
        try await connection.withSession { try statements.releaseLearnerLease(group: group, holder: holder, token: token, on: $0) }
    }

    /// Who holds the lease and its token, and how many times it changed hands (acquisitions - 1).
    func holder() async throws -> (holder: String, token: Int64, handovers: Int64)? {
        let (statements, group) = (self.statements, groupID)
        return try await connection.withSession { try statements.learnerLease(group: group, on: $0) }
    }

    /// Where `version` left `topic`: the next offset of each partition, empty when the
    /// version was not published by a group learner (a cold start, an older release).
    func positions(version: Int64, topic: String) async throws -> [Int32: Int64] {
        let statements = self.statements
        return try await connection.withSession { try statements.learnerPositions(version: version, topic: topic, on: $0) }
    }

    /// Where the group's latest publication left `topic` (the version with positions that was
    /// published last): where a live version without positions of its own resumes.
    func latestPositions(topic: String) async throws -> (version: Int64, positions: [Int32: Int64])? {
        let statements = self.statements
        return try await connection.withSession { try statements.latestLearnerPositions(topic: topic, on: $0) }
    }

    /// A training-topic message the learner could not learn.
    struct DeadLetter: Sendable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var code: String
        var reason: String
        var key: [UInt8]?
        var payload: [UInt8]
    }

    /// Stores dead letters of the training topic; one already stored (the same offset read
    /// again by a later tenure) is left as it is.
    func deadLetter(_ letters: [DeadLetter]) async throws {
        let statements = self.statements
        try await connection.transaction { session in
            for letter in letters { try statements.insertTrainingDeadLetter(letter, on: session) }
        }
    }

    /// The next free version number (the publication checks it again under its lock).
    func nextVersion() async throws -> Int64 {
        let statements = self.statements
        return try await connection.withSession { try statements.nextModelVersion(on: $0) }
    }

    /// What a fenced publication found.
    enum Outcome: Sendable, Equatable {
        case published
        /// The token is no longer the group's current one: nothing was written.
        case fenced
        /// Another version took the number first: build again under the next one.
        case versionTaken
        /// An operator's promote or rollback changed the live version: the candidate is dropped.
        case liveChanged(Int64?)
    }

    /// Stores `set`, records `positions` with it and makes it live, in one transaction that
    /// first locks the lease row under `token` (`check_learner_token`): a member that is no
    /// longer the learner writes nothing, and a claim of the lease waits for this commit.
    func publish(_ set: ModelSet, token: Int64, topic: String, positions: [Int32: Int64]) async throws -> Outcome {
        let (statements, group) = (self.statements, groupID)
        let weights = set.encoded()
        do {
            return try await connection.transaction { session -> Outcome in
                try statements.checkLearnerToken(group: group, token: token, on: session)
                try statements.lockModelRegistry(on: session)
                guard try statements.nextModelVersion(on: session) == set.version else { return .versionTaken }
                let live = try statements.liveModelVersion(on: session)
                guard live == set.parent else { return .liveChanged(live) }
                try statements.insertModel(set, weights: weights, note: "online training", on: session)
                try statements.insertLearnerPositions(version: set.version, topic: topic, positions: positions, token: token, on: session)
                try statements.makeModelLive(version: set.version, on: session)
                return .published
            }
        } catch let error as PostgresError where error.sqlState == Self.fencedState {
            return .fenced
        }
    }
}
