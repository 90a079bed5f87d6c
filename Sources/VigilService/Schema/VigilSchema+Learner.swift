// The statements of learning across a group (migration 0013): the learner lease, the
// training-topic positions each published version was built from, and the training topic's
// dead letters.
import Foundation
import VigilPostgres

extension VigilSchema {
    /// Takes or renews `group`'s lease for `holder` (`claim_learner_lease`): its token while it
    /// holds it, nil while another member does.
    func claimLearnerLease(group: String, holder: String, ttlMillis: Int, on session: PostgresSession) throws -> Int64? {
        try session.query("""
            SELECT \(s).claim_learner_lease(\(group), \(holder), \(Int32(clamping: ttlMillis))) AS token
            """).first.flatMap { try $0.decode("token", as: Int64?.self) }
    }

    /// Ends the lease at once (`release_learner_lease`).
    func releaseLearnerLease(group: String, holder: String, token: Int64, on session: PostgresSession) throws {
        try session.query("SELECT \(s).release_learner_lease(\(group), \(holder), \(token))")
    }

    /// Raises SQLSTATE `LearnerLeaseStore.fencedState` unless `token` is `group`'s current one,
    /// and locks the lease row until the transaction ends (`check_learner_token`).
    func checkLearnerToken(group: String, token: Int64, on session: PostgresSession) throws {
        try session.execute("SELECT \(s).check_learner_token(\(group), \(token))")
    }

    /// Who holds `group`'s lease, its token, and how many times it changed hands.
    func learnerLease(group: String, on session: PostgresSession) throws -> (holder: String, token: Int64, handovers: Int64)? {
        try session.query("""
            SELECT holder, token, acquisitions - 1 AS handovers FROM \(s).learner_lease WHERE group_id = \(group)
            """).first.map { (try $0.decode("holder"), try $0.decode("token"), try $0.decode("handovers")) }
    }

    /// Where `version` left `topic`: each partition's next offset.
    func learnerPositions(version: Int64, topic: String, on session: PostgresSession) throws -> [Int32: Int64] {
        var out: [Int32: Int64] = [:]
        for row in try session.query("""
            SELECT kafka_partition, next_offset FROM \(s).learner_positions WHERE version = \(version) AND topic = \(topic)
            """) {
            out[try row.decode("kafka_partition", as: Int32.self)] = try row.decode("next_offset", as: Int64.self)
        }
        return out
    }

    /// The positions of the latest version that has any on `topic`.
    func latestLearnerPositions(topic: String, on session: PostgresSession) throws -> (version: Int64, positions: [Int32: Int64])? {
        var version: Int64?, out: [Int32: Int64] = [:]
        for row in try session.query("""
            SELECT version, kafka_partition, next_offset FROM \(s).learner_positions
            WHERE topic = \(topic) AND version = (SELECT max(version) FROM \(s).learner_positions WHERE topic = \(topic))
            """) {
            version = try row.decode("version", as: Int64.self)
            out[try row.decode("kafka_partition", as: Int32.self)] = try row.decode("next_offset", as: Int64.self)
        }
        return version.map { ($0, out) }
    }

    /// Records where `version` left `topic`, under the publishing learner's `token`.
    func insertLearnerPositions(version: Int64, topic: String, positions: [Int32: Int64], token: Int64,
                                on session: PostgresSession) throws {
        for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
            try session.execute("""
                INSERT INTO \(s).learner_positions (version, topic, kafka_partition, next_offset, learner_token)
                VALUES (\(version), \(topic), \(partition), \(offset), \(token))
                """)
        }
    }

    /// A training-topic message the learner could not learn; one already stored (the same
    /// offset read again by a later tenure) is left as it is.
    func insertTrainingDeadLetter(_ d: LearnerLeaseStore.DeadLetter, on session: PostgresSession) throws {
        try session.execute("""
            INSERT INTO \(s).dead_letters (topic, kafka_partition, kafka_offset, reason_code, reason, message_key, payload)
            VALUES (\(d.topic), \(d.partition), \(d.offset), \(d.code), \(d.reason), \(d.key), \(d.payload))
            ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
            """)
    }
}
