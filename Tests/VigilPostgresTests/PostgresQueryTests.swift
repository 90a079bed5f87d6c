// Statements written as interpolated strings: what becomes a parameter, what is quoted,
// and what goes in as SQL, without a server.
import Foundation
import Testing
import VigilPostgres

@Suite("PostgresQuery")
struct PostgresQueryTests {
    @Test("interpolated values become numbered parameters; the SQL holds only placeholders")
    func valuesAreBound() {
        let version: Int64 = 7, kind = "vigil-model-set'; DROP TABLE models; --"
        let query: PostgresQuery = "SELECT weights FROM models WHERE kind = \(kind) AND version = \(version)"
        #expect(query.sql == "SELECT weights FROM models WHERE kind = $1 AND version = $2")
        #expect(query.binds == [.text(kind), .int64(7)])
        #expect(!query.description.contains("DROP"))
    }

    @Test("nil binds NULL; each use of a value is its own parameter")
    func optionalsAndRepeats() {
        let topic: String? = nil, partition: Int32? = 3
        let query: PostgresQuery = "WHERE (\(topic)::text IS NULL OR topic = \(topic)) AND kafka_partition = \(partition)"
        #expect(query.sql == "WHERE ($1::text IS NULL OR topic = $2) AND kafka_partition = $3")
        #expect(query.binds == [.null, .null, .int32(3)])
    }

    @Test("identifiers are quoted with embedded quotes doubled, never bound")
    func identifiersAreQuoted() {
        let schema = PostgresIdentifier("vigil_test\"x")
        let columns = ["event_id", "risk"].map(PostgresIdentifier.init)
        let query: PostgresQuery = "SELECT \(columns) FROM \(schema).decisions WHERE risk > \(0.5)"
        #expect(query.sql == "SELECT \"event_id\", \"risk\" FROM \"vigil_test\"\"x\".decisions WHERE risk > $1")
        #expect(query.binds == [.float64(0.5)])
    }

    @Test("unsafeSQL text goes in as written; a plain literal binds nothing")
    func rawText() {
        let direction = "DESC"
        let ordered: PostgresQuery = "SELECT 1 ORDER BY 1 \(unsafeSQL: direction) LIMIT \(5)"
        #expect(ordered.sql == "SELECT 1 ORDER BY 1 DESC LIMIT $1")
        let literal: PostgresQuery = "SELECT now()"
        #expect(literal.sql == "SELECT now()" && literal.binds.isEmpty)
        let built = PostgresQuery(unsafeSQL: "SELECT $1", binds: [.bool(true)])
        #expect(built.binds == [.bool(true)])
    }

    @Test("each Swift type binds as its PostgreSQL type")
    func encodableTypes() {
        let when = Date(timeIntervalSince1970: 1_764_000_000)
        let bytes: [UInt8] = [0, 1, 255]
        let query: PostgresQuery = "\(1)\(Int64(2))\(Int32(3))\(Int16(4))\(Float(0.25))\(1.5)\(true)\(when)\(bytes)\(PostgresValue.jsonb("{}"))"
        #expect(query.binds == [.int64(1), .int64(2), .int32(3), .int16(4), .float32(0.25), .float64(1.5), .bool(true),
                                .timestamptz(when), .bytea(bytes), .jsonb("{}")])
        #expect(query.sql == (1...10).map { "$\($0)" }.joined())
    }
}
