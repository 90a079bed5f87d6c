// Connection behaviour against the real server: bulk COPY, transactions,
// errors with SQLSTATE, losing the connection, LISTEN/NOTIFY, the async API.
import Foundation
import Testing
import VigilPostgres

@Suite("Postgres sessions")
struct PostgresSessionTests {
    @Test("COPY of 100,000 decision-shaped rows arrives complete")
    func copyHundredThousand() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            try session.execute("""
                CREATE TABLE \(quoteIdentifier(schema)).bulk (
                    n bigint PRIMARY KEY, card text NOT NULL, amount double precision NOT NULL,
                    risk real NOT NULL, at timestamptz NOT NULL, reasons jsonb NOT NULL, features real[])
                """, [])
            let start = Date(timeIntervalSince1970: 1_764_000_000)
            let count = try session.copy(into: "bulk", schema: schema,
                                         columns: ["n", "card", "amount", "risk", "at", "reasons", "features"]) { writer in
                for n in 0..<100_000 {
                    writer.beginRow()
                    writer.append(Int64(n))
                    try writer.append("card-\(n % 1000)")
                    writer.append(Double(n) * 0.25)
                    writer.append(Float(n % 100) / 100)
                    try writer.append(start.addingTimeInterval(Double(n)))
                    try writer.append(jsonb: "[\"r\(n % 7)\"]")
                    writer.append(floats: [Float(n), 1, n % 10 == 0 ? nil : 2])
                    try writer.endRow()
                }
            }
            #expect(count == 100_000)
            let summary = try session.query("""
                SELECT count(*), sum(amount), count(DISTINCT card), max(at), sum(features[1]::float8), count(*) FILTER (WHERE features[3] IS NULL),
                       count(*) FILTER (WHERE reasons = '["r3"]')
                FROM \(quoteIdentifier(schema)).bulk
                """, []).single()
            #expect(try summary.decode(0, as: Int.self) == 100_000)
            #expect(try summary.decode(1, as: Double.self) == 0.25 * Double(99_999 * 100_000 / 2))
            #expect(try summary.decode(2, as: Int.self) == 1000)
            #expect(try summary.decode(3, as: Date.self) == start.addingTimeInterval(99_999))
            #expect(try summary.decode(4, as: Double.self) == Double(99_999 * 100_000 / 2))
            #expect(try summary.decode(5, as: Int.self) == 10_000)
            #expect(try summary.decode(6, as: Int.self) == 14_286)
        }
    }

    @Test("a COPY whose producer throws sends nothing, and a row with too few values is refused")
    func copyFailures() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            try session.execute("CREATE TABLE \(quoteIdentifier(schema)).c (a bigint, b text)", [])
            struct Stop: Error {}
            #expect(throws: Stop.self) {
                try session.copy(into: "c", schema: schema, columns: ["a", "b"]) { writer in
                    try writer.appendRow([.int64(1), .text("one")])
                    throw Stop()
                }
            }
            #expect {
                try session.copy(into: "c", schema: schema, columns: ["a", "b"]) { writer in
                    writer.beginRow()
                    writer.append(Int64(2))
                    try writer.endRow()
                }
            } throws: { ($0 as? PostgresError)?.code == .misuse }
            // A wrong binary width is the server's to refuse (int4 sent for int8).
            #expect {
                try session.copy(into: "c", schema: schema, columns: ["a", "b"]) { writer in
                    try writer.appendRow([.int32(3), .text("three")])
                }
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return ["22P03", "08P01"].contains(error.sqlState ?? "") && !error.isRetriable
            }
            #expect(try session.query("SELECT count(*) FROM \(quoteIdentifier(schema)).c", []).single().decode(0, as: Int.self) == 0)
        }
    }

    @Test("transaction commits on return and rolls back on throw; transactions do not nest")
    func transactions() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            let table = "\(quoteIdentifier(schema)).t"
            try session.execute("CREATE TABLE \(table) (v text)", [])
            try session.transaction { tx in try tx.execute("INSERT INTO \(table) VALUES ($1)", [.text("kept")]) }
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try session.transaction { tx in
                    try tx.execute("INSERT INTO \(table) VALUES ($1)", [.text("discarded")])
                    throw Boom()
                }
            }
            #expect {
                try session.transaction { tx in try tx.transaction { _ in } }
            } throws: { ($0 as? PostgresError)?.code == .misuse }
            // A statement error the body swallows still fails the transaction instead of "committing".
            #expect {
                try session.transaction { tx in
                    try tx.execute("INSERT INTO \(table) VALUES ($1)", [.text("swallowed")])
                    _ = try? tx.query("SELECT 1/0")
                }
            } throws: { ($0 as? PostgresError)?.sqlState == "25P02" }
            let values = try session.query("SELECT v FROM \(table) ORDER BY v", []).map { try $0.decode(0, as: String.self) }
            #expect(values == ["kept"])
        }
    }

    @Test("server errors carry SQLSTATE and fields; description hides the data, debugDescription shows it")
    func serverErrors() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            let table = "\(quoteIdentifier(schema)).u"
            try session.execute("CREATE TABLE \(table) (card text CONSTRAINT u_card UNIQUE)", [])
            try session.execute("INSERT INTO \(table) VALUES ($1)", [.text("4111-secret-card")])
            do {
                try session.execute("INSERT INTO \(table) VALUES ($1)", [.text("4111-secret-card")])
                Issue.record("duplicate accepted")
            } catch let error as PostgresError {
                #expect(error.code == .server)
                #expect(error.sqlState == "23505")
                #expect(error.serverInfo?.constraintName == "u_card")
                #expect(error.serverInfo?.tableName == "u")
                #expect(!error.isRetriable)
                #expect(!error.description.contains("4111"))
                #expect(error.debugDescription.contains("4111-secret-card"))
            }
            #expect {
                try session.query("SELEC 1")
            } throws: { ($0 as? PostgresError)?.sqlState == "42601" }
        }
    }

    @Test("a backend killed mid-transaction gives a retriable error; the next use reconnects")
    func terminatedBackend() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            let table = "\(quoteIdentifier(schema)).k"
            try session.execute("CREATE TABLE \(table) (v int4)", [])
            let victim = try PostgresTestDatabase.session()
            let firstPID = try victim.backendPID()
            var caught: PostgresError?
            do {
                try victim.transaction { tx in
                    try tx.execute("INSERT INTO \(table) VALUES (1)", [])
                    try session.query("SELECT pg_terminate_backend($1)", [.int32(firstPID)])
                    try tx.execute("INSERT INTO \(table) VALUES (2)", [])
                    Issue.record("statement after termination succeeded")
                }
            } catch let error as PostgresError {
                caught = error
            }
            #expect(caught?.isRetriable == true)
            #expect(caught?.code == .connectionLost)
            // The transaction's first row died with it; the session reconnects on next use.
            #expect(try victim.query("SELECT count(*) FROM \(table)", []).single().decode(0, as: Int.self) == 0)
            #expect(try victim.backendPID() != firstPID)
        }
    }

    @Test("statements after a lost connection inside one transaction body fail instead of escaping the transaction")
    func lostConnectionStaysFailed() throws {
        let victim = try PostgresTestDatabase.session()
        let killer = try PostgresTestDatabase.session()
        var errors: [PostgresError] = []
        _ = try? victim.transaction { tx in
            try killer.query("SELECT pg_terminate_backend($1)", [.int32(try tx.backendPID())])
            for _ in 0..<2 {
                do { try tx.query("SELECT 1") } catch let error as PostgresError { errors.append(error) }
            }
        }
        #expect(errors.count == 2)
        let allRetriable = errors.allSatisfy { $0.isRetriable }
        #expect(allRetriable)
        #expect(try victim.query("SELECT 2::int4").single().decode(0, as: Int.self) == 2)
    }

    @Test("an unreachable server fails with a retriable connectionFailed after the configured attempts")
    func unreachable() throws {
        var configuration = PostgresConfiguration(keywords: ["host": "127.0.0.1", "port": "1", "dbname": "x", "password": "hunter2"])
        configuration.reconnect.maxAttempts = 2
        configuration.reconnect.initialBackoff = .milliseconds(10)
        #expect(!configuration.description.contains("hunter2"))
        let session = PostgresSession(configuration: configuration)
        #expect {
            try session.connect()
        } throws: { error in
            guard let error = error as? PostgresError else { return false }
            return error.code == .connectionFailed && error.isRetriable && !error.debugDescription.contains("hunter2")
        }
    }

    @Test("LISTEN receives NOTIFY payloads from another connection; waiting times out with nil")
    func listenNotify() async throws {
        let configuration = try PostgresTestDatabase.configuration()
        let listener = PostgresConnection(configuration: configuration)
        let sender = PostgresConnection(configuration: configuration)
        let channel = PostgresTestDatabase.uniqueName("chan")
        try await listener.listen(channel)
        #expect(try await listener.nextNotification(timeout: .milliseconds(50)) == nil)
        try await sender.notify(channel, payload: "first ✓")
        try await sender.transaction { tx in try tx.notify(channel, payload: "second") }
        let first = try await listener.nextNotification(timeout: .seconds(10))
        let second = try await listener.nextNotification(timeout: .seconds(10))
        #expect(first?.channel == channel)
        #expect(first?.payload == "first ✓")
        #expect(second?.payload == "second")
        #expect(first?.senderPID == (try await sender.backendPID()))
        await listener.close()
        await sender.close()
    }

    @Test("cancelling the calling task cancels the running statement on the server")
    func taskCancellation() async throws {
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let observer = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let pid = try await connection.backendPID()
        let sleeper = Task { try await connection.query("SELECT pg_sleep(60)") }
        // Wait until the server shows the statement running, then cancel the task.
        var running = false
        for _ in 0..<500 where !running {
            running = try await observer.query(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
                [.int32(pid)]).single().decode(0, as: Int.self) == 1
            if !running { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(running)
        sleeper.cancel()
        let result = await sleeper.result
        #expect(throws: PostgresError.self) { try result.get() }
        if case .failure(let error as PostgresError) = result {
            #expect(error.sqlState == "57014")
            #expect(error.code == .queryCancelled)
        }
        // The connection stays usable.
        #expect(try await connection.query("SELECT 3::int4").single().decode(0, as: Int.self) == 3)
        await connection.close()
        await observer.close()
    }

    @Test("the async connection serves concurrent callers in order on its own queue")
    func asyncConcurrentCalls() async throws {
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let sums = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 1...20 {
                group.addTask { try await connection.query("SELECT $1::int8 + 1", [.int64(Int64(n))]).single().decode(0, as: Int.self) }
            }
            return try await group.reduce(0, +)
        }
        #expect(sums == (1...20).reduce(0, +) + 20)
        // Temporary tables belong to the one underlying session, so they prove the
        // calls share it; the throwing transaction leaves no row behind.
        try await connection.execute("CREATE TEMP TABLE async_rows (v int4)")
        try await connection.transaction { tx in try tx.execute("INSERT INTO async_rows VALUES (1)") }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await connection.transaction { tx in
                try tx.execute("INSERT INTO async_rows VALUES (2)")
                throw Boom()
            }
        }
        let values = try await connection.query("SELECT v FROM async_rows").map { try $0.decode(0, as: Int.self) }
        #expect(values == [1])
        await connection.close()
    }
}
