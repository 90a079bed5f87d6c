// Every statement Vigil runs on its schema (`vigil`, or a test schema of the same shape):
// the registry, the learner lease, analysts' rules, the exactly-once sink and the decisions
// read back. One type owns the SQL; each statement is a `PostgresQuery` whose values are
// bound as parameters, and rows are decoded by column name. The stores around it hold the
// logic (caching, retries, the order of statements in a transaction), never SQL.
// `vigil audit verify` reads the trail through VigilAudit's own reader, independent of the
// writer it checks; the schema itself is made by the SQL files in sql/migrations.
import Foundation
import VigilPostgres

public struct VigilSchema: Sendable, Hashable {
    /// The schema's name.
    public let name: String
    /// The schema as it goes into a statement (quoted).
    let s: PostgresIdentifier

    public init(_ name: String) {
        self.name = name
        s = PostgresIdentifier(name)
    }

    /// The transaction-scoped advisory lock that serialises changes of the live model version
    /// on this schema: operators' promote and rollback, cold starts, learners' publications and
    /// registry retention.
    func lockModelRegistry(on session: PostgresSession) throws {
        try session.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("vigil models " + s.quoted), 0))")
    }
}
