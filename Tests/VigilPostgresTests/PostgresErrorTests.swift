// Retriable classification and what an error may print.
import Testing
@testable import VigilPostgres

@Suite("PostgresError")
struct PostgresErrorTests {
    @Test("connection loss, serialization failures, deadlocks and shutdowns are retriable; constraint and syntax errors are not")
    func retriable() {
        for state in ["40001", "40P01", "57P01", "57P02", "57P03", "08006", "08003", "53300"] {
            #expect(PostgresError(.server, sqlState: state, reason: "").isRetriable, "\(state)")
        }
        for state in ["23505", "42601", "42501", "22P02", "08P01", "P0001"] {
            #expect(!PostgresError(.server, sqlState: state, reason: "").isRetriable, "\(state)")
        }
        #expect(PostgresError(.connectionLost, reason: "").isRetriable)
        #expect(!PostgresError(.migration, reason: "").isRetriable)
        #expect(!PostgresError(.decoding, reason: "").isRetriable)
    }

    @Test("description leaves out server text that may quote row data; debugDescription keeps it")
    func redaction() {
        var info = PostgresError.ServerInfo()
        info.message = "duplicate key value violates unique constraint \"u\""
        info.detail = "Key (card)=(4111111111111111) already exists."
        info.tableName = "decisions"
        info.constraintName = "u"
        let error = PostgresError(.server, sqlState: "23505", serverInfo: info, reason: "ERROR: Key (card)=(4111111111111111)")
        #expect(error.description == "PostgresError(server, SQLSTATE 23505, table decisions, constraint u)")
        #expect(!error.description.contains("4111"))
        #expect(error.debugDescription.contains("4111111111111111"))
        #expect(error.debugDescription.contains("PostgresErrorTests.swift"))
    }
}
