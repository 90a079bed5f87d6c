// Proves the toolchain end to end from Swift through each C module: librdkafka
// against the local broker, libpq against the local PostgreSQL, OpenBLAS sgemm.
// The product's wrappers have their own tests.
import CLibPQ
import COpenBLAS
import Foundation
import KafkaBaseline
import Testing

@Suite("Toolchain smoke")
struct ToolchainSmokeTests {
    @Test("10,000 messages produced to a new topic on the local broker all come back")
    func kafkaRoundTrip() throws {
        let brokers = try StackEnvironment.require("VIGIL_KAFKA_BROKERS")
        let topic = "smoke-\(UUID().uuidString.prefix(8))"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: 3)
        let produced = try KafkaBaseline.produce(brokers: brokers, topic: topic, count: 10_000, payloadSize: 200)
        #expect(produced.messages == 10_000)
        let consumed = try KafkaBaseline.consume(brokers: brokers, topic: topic, partitions: 3, expected: 10_000, timeout: 60)
        #expect(consumed.messages == 10_000)
        #expect(consumed.bytes == 10_000 * 200)
    }

    @Test("libpq connects, COPYs 10,000 rows into a table of a fresh schema and counts them")
    func postgresCopy() throws {
        StackEnvironment.exportDatabasePassword()
        let url = try StackEnvironment.require("VIGIL_DATABASE_URL")
        guard let conn = PQconnectdb(url) else { throw SmokeFailure("PQconnectdb returned nil") }
        defer { PQfinish(conn) }
        guard PQstatus(conn) == CONNECTION_OK else { throw SmokeFailure("connect: \(String(cString: PQerrorMessage(conn)))") }

        let schema = "smoke_\(UUID().uuidString.prefix(8).lowercased())"
        try command(conn, "CREATE SCHEMA \(schema)")
        defer { _ = try? command(conn, "DROP SCHEMA \(schema) CASCADE") }
        try command(conn, "CREATE TABLE \(schema).rows (id bigint PRIMARY KEY, card text NOT NULL, amount double precision NOT NULL)")

        let start = PQexec(conn, "COPY \(schema).rows (id, card, amount) FROM STDIN")
        #expect(PQresultStatus(start) == PGRES_COPY_IN)
        PQclear(start)
        var buffer = ""
        for id in 0..<10_000 {
            buffer += "\(id)\tcard-\(id % 97)\t\(Double(id) * 0.5)\n"
        }
        let sent = buffer.utf8CString.withUnsafeBufferPointer { PQputCopyData(conn, $0.baseAddress, Int32($0.count - 1)) }
        #expect(sent == 1)
        #expect(PQputCopyEnd(conn, nil) == 1)
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else {
                throw SmokeFailure("COPY: \(String(cString: PQresultErrorMessage(result)))")
            }
        }

        let count = PQexec(conn, "SELECT count(*), sum(amount) FROM \(schema).rows")
        defer { PQclear(count) }
        #expect(PQresultStatus(count) == PGRES_TUPLES_OK)
        #expect(String(cString: PQgetvalue(count, 0, 0)) == "10000")
        #expect(String(cString: PQgetvalue(count, 0, 1)) == "24997500")
    }

    @Test("cblas_sgemm multiplies two 3x3 row-major matrices")
    func blasMultiply() {
        let a: [Float] = [1, 2, 3,
                          4, 5, 6,
                          7, 8, 10]
        let b: [Float] = [1, 0, 2,
                          0, 1, 0,
                          3, 1, 1]
        var c = [Float](repeating: -1, count: 9)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 3, 3, 3, 1, a, 3, b, 3, 0, &c, 3)
        #expect(c == [10, 5, 5,
                      22, 11, 14,
                      37, 18, 24])
    }

    private func command(_ conn: OpaquePointer, _ sql: String) throws {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw SmokeFailure("\(sql): \(String(cString: PQresultErrorMessage(result)))")
        }
    }
}

struct SmokeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
