// Decisions already in the audit trail, found by event id: a request repeating an event id is
// answered with the stored row (rebuilt into the same bytes) and writes nothing. One query per
// group of requests, on a session of its own (`<application_name>-api`), so the lookup does
// not wait behind the batch being written on the sink's connection. The ids go in as one array
// (`= ANY`): each daily partition is then one bitmap scan of its event-id index, planned in a
// third of the time a semi-join over the unnested list takes.
import VigilPostgres

struct StoredDecisions: Sendable {
    let connection: PostgresConnection
    let schema: String
    /// The topics whose rows answer for an event id: the API's own and the stream's (an event
    /// the stream decided is not decided again through the API).
    let topics: [String]

    /// The earliest stored decision of each of `eventIDs` that has one.
    func find(_ eventIDs: [String]) async throws -> [String: ScoredDecision] {
        guard !eventIDs.isEmpty else { return [:] }
        var ids = "["
        for (i, id) in eventIDs.enumerated() {
            if i > 0 { ids += "," }
            ids += JSONText.string(id)
        }
        ids += "]"
        var topicList = "["
        for (i, topic) in topics.enumerated() {
            if i > 0 { topicList += "," }
            topicList += JSONText.string(topic)
        }
        topicList += "]"
        let s = quoteIdentifier(schema), idParameter = ids, topicParameter = topicList
        let rows = try await connection.withSession { session in
            try session.queryPrepared("vigil_api_stored_decisions", """
                SELECT DISTINCT ON (d.event_id) d.event_id, d.decision, d.risk, d.anomaly_score, d.classifier_score, d.model_version,
                       d.reasons, (EXTRACT(EPOCH FROM d.decided_at) * 1000000)::bigint
                FROM \(s).decisions d
                WHERE d.event_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))
                  AND d.topic = ANY (ARRAY(SELECT jsonb_array_elements_text($2::jsonb)))
                ORDER BY d.event_id, d.decided_at, d.kafka_offset
                """, [.jsonb(idParameter), .jsonb(topicParameter)])
        }
        var found: [String: ScoredDecision] = [:]
        for row in rows {
            let d = ScoredDecision(eventID: try row.decode(0), outcome: try row.decode(1), risk: try row.decode(2),
                                   anomalyScore: try row.decode(3), fraudProbability: try row.decode(4), modelVersion: try row.decode(5),
                                   reasons: try row.decode(6), decidedAtMicros: try row.decode(7))
            found[d.eventID] = d
        }
        return found
    }
}
