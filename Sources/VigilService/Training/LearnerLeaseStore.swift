// The statements of learning across a group (migration 0013): claiming and giving up the
// learner lease, reading where the live version left the training topic, and the fenced
// publication that stores, records the topic positions of and promotes a learner's version in
// one transaction, under the lease row's lock.
import Foundation
import VigilEngine
import VigilPostgres

struct LearnerLeaseStore: Sendable {
    let connection: PostgresConnection
    let schema: String
    let groupID: String

    /// SQLSTATE raised by `check_learner_token` for a token that is no longer current.
    static let fencedState = "VL001"

    /// Takes or renews the lease for `holder`: its token while it holds it, nil while another
    /// member does (see `claim_learner_lease`).
    func claim(holder: String, ttlMillis: Int) async throws -> Int64? {
        try await connection.query("SELECT \(quoteIdentifier(schema)).claim_learner_lease($1, $2, $3)",
                                   [.text(groupID), .text(holder), .int32(Int32(clamping: ttlMillis))])
            .first.flatMap { try $0.decode(0, as: Int64?.self) }
    }

    /// Ends the lease at once so another member need not wait out the TTL.
    func release(holder: String, token: Int64) async throws {
        _ = try await connection.query("SELECT \(quoteIdentifier(schema)).release_learner_lease($1, $2, $3)",
                                       [.text(groupID), .text(holder), .int64(token)])
    }

    /// Who holds the lease and its token, and how many times it changed hands (acquisitions - 1).
    func holder() async throws -> (holder: String, token: Int64, handovers: Int64)? {
        try await connection.query("SELECT holder, token, acquisitions - 1 FROM \(quoteIdentifier(schema)).learner_lease WHERE group_id = $1",
                                   [.text(groupID)]).first.map { (try $0.decode(0), try $0.decode(1), try $0.decode(2)) }
    }

    /// Where `version` left `topic`: the next offset of each partition, empty when the
    /// version was not published by a group learner (a cold start, an older release).
    func positions(version: Int64, topic: String) async throws -> [Int32: Int64] {
        var out: [Int32: Int64] = [:]
        for row in try await connection.query("""
            SELECT kafka_partition, next_offset FROM \(quoteIdentifier(schema)).learner_positions WHERE version = $1 AND topic = $2
            """, [.int64(version), .text(topic)]) {
            out[try row.decode(0, as: Int32.self)] = try row.decode(1, as: Int64.self)
        }
        return out
    }

    /// Where the group's latest publication left `topic` (the version with positions that was
    /// published last): where a live version without positions of its own resumes.
    func latestPositions(topic: String) async throws -> (version: Int64, positions: [Int32: Int64])? {
        var version: Int64?, out: [Int32: Int64] = [:]
        for row in try await connection.query("""
            SELECT version, kafka_partition, next_offset FROM \(quoteIdentifier(schema)).learner_positions
            WHERE topic = $1 AND version = (SELECT max(version) FROM \(quoteIdentifier(schema)).learner_positions WHERE topic = $1)
            """, [.text(topic)]) {
            version = try row.decode(0, as: Int64.self)
            out[try row.decode(1, as: Int32.self)] = try row.decode(2, as: Int64.self)
        }
        return version.map { ($0, out) }
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
        let s = quoteIdentifier(schema)
        try await connection.transaction { session in
            for d in letters {
                try session.execute("""
                    INSERT INTO \(s).dead_letters (topic, kafka_partition, kafka_offset, reason_code, reason, message_key, payload)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
                    """, [.text(d.topic), .int32(d.partition), .int64(d.offset), .text(d.code), .text(d.reason),
                          d.key.map { .bytea($0) } ?? .null, .bytea(d.payload)])
            }
        }
    }

    /// The next free version number (the publication checks it again under its lock).
    func nextVersion() async throws -> Int64 {
        try await connection.query("SELECT coalesce(max(version), 0) + 1 FROM \(quoteIdentifier(schema)).models").first
            .map { try $0.decode(0, as: Int64.self) } ?? 1
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
        let s = quoteIdentifier(schema), group = groupID
        let metrics = String(decoding: try JSONEncoder().encode(set.metrics), as: UTF8.self)
        let weights = set.encoded()
        do {
            return try await connection.transaction { session -> Outcome in
                try session.execute("SELECT \(s).check_learner_token($1, $2)", [.text(group), .int64(token)])
                // The lock operators' promote and rollback and registry retention take.
                try session.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("vigil models " + s)])
                let next = try session.query("SELECT coalesce(max(version), 0) + 1 FROM \(s).models").first.map { try $0.decode(0, as: Int64.self) }
                guard next == set.version else { return .versionTaken }
                let live = try session.query("SELECT version FROM \(s).models WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
                                             [.text(ModelStore.kind)]).first.map { try $0.decode(0, as: Int64.self) }
                guard live == set.parent else { return .liveChanged(live) }
                try session.execute("""
                    INSERT INTO \(s).models (version, parent_version, kind, metrics, weights, checksum, note)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """, [.int64(set.version), set.parent.map { .int64($0) } ?? .null, .text(ModelStore.kind), .jsonb(metrics),
                          .bytea(weights), .text(set.checksum), .text("online training")])
                for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
                    try session.execute("""
                        INSERT INTO \(s).learner_positions (version, topic, kafka_partition, next_offset, learner_token) VALUES ($1, $2, $3, $4, $5)
                        """, [.int64(set.version), .text(topic), .int32(partition), .int64(offset), .int64(token)])
                }
                try session.execute("UPDATE \(s).models SET retired_at = now() WHERE kind = $1 AND promoted_at IS NOT NULL AND retired_at IS NULL",
                                    [.text(ModelStore.kind)])
                try session.execute("UPDATE \(s).models SET promoted_at = now(), retired_at = NULL WHERE kind = $1 AND version = $2",
                                    [.text(ModelStore.kind), .int64(set.version)])
                return .published
            }
        } catch let error as PostgresError where error.sqlState == Self.fencedState {
            return .fenced
        }
    }
}
