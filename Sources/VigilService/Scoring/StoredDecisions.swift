// Decisions already in the audit trail, found by event id: a request repeating an event id is
// answered with the stored row (rebuilt into the same bytes) and writes nothing. One query per
// group of requests, on a session of its own (`<application_name>-api`), so the lookup does
// not wait behind the batch being written on the sink's connection (VigilSchema.storedDecisions).
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
        let statements = VigilSchema(schema), topics = self.topics
        let rows = try await connection.withSession { try statements.storedDecisions(eventIDs, topics: topics, on: $0) }
        var found: [String: ScoredDecision] = [:]
        for d in rows { found[d.eventID] = d }
        return found
    }
}
