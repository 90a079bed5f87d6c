// The synchronous connection API, for code that owns a thread (the
// PostgresConnection queue, the sink's writer thread, the migration command).
// A session is confined to one thread at a time; it is not Sendable.
import CLibPQ
import Foundation

/// One database connection used synchronously. Connects lazily and reconnects
/// with backoff when the previous connection broke; a broken connection surfaces
/// as a retriable `PostgresError` from the statement that found it, and the next
/// call gets a fresh connection. Statements are never retried silently.
public final class PostgresSession {
    public let configuration: PostgresConfiguration
    private var handle: ConnectionHandle?
    private var transactionDepth = 0
    private var listening: Set<String> = []
    private var prepared: [String: String] = [:]

    public init(configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    /// Connects now (otherwise the first statement does).
    public func connect() throws {
        _ = try connectedHandle()
    }

    /// Closes the connection; the next statement opens a new one.
    public func close() {
        handle = nil
        transactionDepth = 0
    }

    /// Cancels the running statement of the current connection, if any.
    var cancelToken: CancelToken? { handle?.cancelToken }

    /// The server process serving this session (for pg_terminate_backend in tests and ops).
    public func backendPID() throws -> Int32 { try connectedHandle().backendPID }

    /// Runs a statement (its interpolated values bound as parameters) and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> PostgresRows {
        try run { try $0.execute(query.sql, query.binds) }
    }

    /// Runs a statement and returns how many rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) throws -> Int {
        try self.query(query).affectedRows
    }

    /// Runs SQL text with `$1, $2...` placeholders and the values for them.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue]) throws -> PostgresRows {
        try query(PostgresQuery(unsafeSQL: sql, binds: parameters))
    }

    /// Runs SQL text with `$1, $2...` placeholders; returns how many rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue]) throws -> Int {
        try query(PostgresQuery(unsafeSQL: sql, binds: parameters)).affectedRows
    }

    /// Runs a statement with `$1, $2...` parameters and lends each result row to `body` in
    /// binary format (`PostgresBinaryRow`); returns the row count. The result is held in memory
    /// whole: bound it (offset ranges, LIMIT) when it can be large.
    @discardableResult
    public func forEachBinaryRow(_ query: PostgresQuery,
                                 _ body: (borrowing PostgresBinaryRow) throws -> Void) throws -> Int {
        try run { try $0.executeBinaryRows(query.sql, query.binds, body) }
    }

    /// Runs a statement prepared once per connection under `name` (re-prepared
    /// automatically after a reconnect).
    @discardableResult
    public func queryPrepared(_ name: String, _ query: PostgresQuery) throws -> PostgresRows {
        let sql = query.sql, parameters = query.binds
        return try run { handle in
            if prepared[name] != sql {
                if prepared[name] != nil {
                    _ = try handle.execute("DEALLOCATE \(quoteIdentifier(name))", [])
                    prepared[name] = nil
                }
                try handle.prepare(name: name, sql: sql)
                prepared[name] = sql
            }
            return try handle.executePrepared(name: name, parameters)
        }
    }

    /// Runs a trusted script of several statements without parameters. Only for
    /// SQL shipped with Vigil (migration files): never put values into it.
    public func executeScript(_ sql: String) throws {
        try run { try $0.executeScript(sql) }
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    /// Nesting is refused (use savepoints explicitly if ever needed).
    @discardableResult
    public func transaction<T>(
        isolation: IsolationLevel = .readCommitted, _ body: (PostgresSession) throws -> T
    ) throws -> T {
        guard transactionDepth == 0 else {
            throw PostgresError(.misuse, reason: "transactions do not nest")
        }
        try execute("BEGIN ISOLATION LEVEL \(unsafeSQL: isolation.sql)")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        let value: T
        do {
            value = try body(self)
        } catch {
            // A broken connection already rolled back on the server.
            if let handle, !handle.isBroken { _ = try? handle.execute("ROLLBACK", []) }
            throw error
        }
        // After an error the body caught, the server answers COMMIT with a silent
        // ROLLBACK; report that instead of pretending the work was committed.
        if let handle, handle.isInFailedTransaction {
            _ = try? handle.execute("ROLLBACK", [])
            throw PostgresError(.server, sqlState: "25P02", reason: "the transaction was aborted by an earlier statement error; rolled back")
        }
        try execute("COMMIT")
        return value
    }

    public enum IsolationLevel: Sendable {
        case readCommitted, repeatableRead, serializable
        var sql: String {
            switch self {
            case .readCommitted: "READ COMMITTED"
            case .repeatableRead: "REPEATABLE READ"
            case .serializable: "SERIALIZABLE"
            }
        }
    }

    /// `COPY table (columns) FROM STDIN (FORMAT binary)`: `body` appends rows to the
    /// writer, which streams them in chunks. Returns the number of rows copied.
    /// Table and column names are quoted identifiers; a schema may be given.
    @discardableResult
    public func copy(
        into table: String, schema: String? = nil, columns: [String],
        _ body: (inout PostgresCopyWriter) throws -> Void
    ) throws -> Int {
        let target = (schema.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(table)
        let sql = "COPY \(target) (\(columns.map(quoteIdentifier).joined(separator: ", "))) FROM STDIN (FORMAT binary)"
        return try run { handle in
            var writer = try PostgresCopyWriter(handle: handle, sql: sql, columnCount: columns.count)
            do {
                try body(&writer)
                return try writer.finish()
            } catch {
                if !handle.isBroken { writer.abort(reason: "client failed while producing COPY rows") }
                throw error
            }
        }
    }

    /// `LISTEN channel` on this connection (re-issued after a reconnect).
    public func listen(_ channel: String) throws {
        try execute("LISTEN \(PostgresIdentifier(channel))")
        listening.insert(channel)
    }

    public func unlisten(_ channel: String) throws {
        try execute("UNLISTEN \(PostgresIdentifier(channel))")
        listening.remove(channel)
    }

    /// `pg_notify(channel, payload)`: delivered to listeners at commit.
    public func notify(_ channel: String, payload: String = "") throws {
        try execute("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
    }

    /// Waits up to `timeout` for a notification on a channel this session listens
    /// to; returns nil when none arrived in time. Blocks the calling thread.
    public func nextNotification(timeout: Duration) throws -> PostgresNotification? {
        try run { try NotificationReader(handle: $0).next(timeout: timeout) }
    }

    /// Runs `body` on a live connection; marks the session for reconnection when
    /// the connection broke during it.
    private func run<T>(_ body: (ConnectionHandle) throws -> T) throws -> T {
        let handle = try connectedHandle()
        do {
            return try body(handle)
        } catch {
            if handle.isBroken { self.handle = nil }
            throw error
        }
    }

    private func connectedHandle() throws -> ConnectionHandle {
        if let handle, !handle.isBroken { return handle }
        if transactionDepth > 0 {
            // The transaction died with its connection: every later statement of
            // its body fails too, instead of running outside it on a new connection.
            handle = nil
            throw PostgresError(.connectionLost, reason: "connection lost inside a transaction")
        }
        handle = nil
        prepared = [:]
        var attempt = 0
        while true {
            attempt += 1
            do {
                let fresh = try ConnectionHandle(parameters: configuration.connectionParameters())
                for channel in listening.sorted() { _ = try fresh.execute("LISTEN \(quoteIdentifier(channel))", []) }
                handle = fresh
                return fresh
            } catch let error as PostgresError {
                guard attempt < configuration.reconnect.maxAttempts else { throw error }
                Thread.sleep(forTimeInterval: configuration.reconnect.backoff(afterAttempt: attempt) / .seconds(1))
            }
        }
    }
}

/// `"name"` with embedded quotes doubled: safe for any identifier text.
public func quoteIdentifier(_ name: String) -> String {
    PostgresIdentifier(name).quoted
}
