// Owner of one `PGconn*`: opens it, frees it in deinit, and turns libpq results
// into Swift values or PostgresError. Everything here blocks; callers run it on
// the connection's own thread (PostgresSession is confined to one).
import CLibPQ
import Foundation

final class ConnectionHandle {
    private let connection: OpaquePointer
    /// For cancelling this connection's running statement from another thread.
    let cancelToken: CancelToken?

    /// Opens a connection; throws `connectionFailed` with libpq's message.
    init(parameters: [(String, String)]) throws {
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers: [UnsafePointer<CChar>?] = keywords.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        guard let connection = PQconnectdbParams(&keywordPointers, &valuePointers, 0) else {
            throw PostgresError(.connectionFailed, reason: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingTrailingNewlines()
            PQfinish(connection)
            throw PostgresError(.connectionFailed, reason: message)
        }
        // libpq prints NOTICE/WARNING messages to stderr by default; they are not
        // errors and can quote data, so they are dropped (the server log keeps them).
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        self.connection = connection
        self.cancelToken = CancelToken(connection: connection)
    }

    deinit { PQfinish(connection) }

    var isBroken: Bool { PQstatus(connection) != CONNECTION_OK }

    /// True inside a transaction block (also an aborted one).
    var isInTransaction: Bool {
        let status = PQtransactionStatus(connection)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// True inside a transaction that an error aborted: COMMIT would only roll back.
    var isInFailedTransaction: Bool { PQtransactionStatus(connection) == PQTRANS_INERROR }

    var backendPID: Int32 { PQbackendPID(connection) }

    var socket: Int32 { PQsocket(connection) }

    /// Lends the raw connection to the wrapper's own code (COPY, notifications).
    func withConnection<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(connection)
    }

    /// Runs one statement with parameters (PQexecParams, text format except bytea).
    func execute(_ sql: String, _ parameters: [PostgresValue]) throws -> PostgresRows {
        try Self.withParameters(parameters) { count, types, values, lengths, formats in
            let result = PQexecParams(connection, sql, count, types, values, lengths, formats, 0)
            return try consume(result)
        }
    }

    /// Runs one statement with results in binary format and lends each row to `body` as binary
    /// COPY fields (`PostgresBinaryRow`); returns the row count. The whole result is held in
    /// memory at once, so callers bound it (ranges, LIMIT).
    func executeBinaryRows(_ sql: String, _ parameters: [PostgresValue], _ body: (borrowing PostgresBinaryRow) throws -> Void) throws -> Int {
        try Self.withParameters(parameters) { count, types, values, lengths, formats in
            guard let result = PQexecParams(connection, sql, count, types, values, lengths, formats, 1) else {
                throw connectionError("no result from the server")
            }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK: break
            case PGRES_COMMAND_OK: return 0
            default: throw resultError(result)
            }
            let rows = PQntuples(result), columns = PQnfields(result)
            var row = PostgresBinaryRow(columnCount: Int(columns))
            for r in 0..<rows {
                row.reset()
                for c in 0..<columns {
                    if PQgetisnull(result, r, c) == 1 {
                        row.appendNull()
                    } else {
                        let length = Int(PQgetlength(result, r, c))
                        let value = UnsafeRawBufferPointer(start: PQgetvalue(result, r, c), count: length)
                        row.appendField(value)
                    }
                }
                try body(row)
            }
            return Int(rows)
        }
    }

    /// Prepares a named statement (PQprepare); parameter types come from the SQL or the server.
    func prepare(name: String, sql: String) throws {
        _ = try consume(PQprepare(connection, name, sql, 0, nil))
    }

    func executePrepared(name: String, _ parameters: [PostgresValue]) throws -> PostgresRows {
        try Self.withParameters(parameters) { count, _, values, lengths, formats in
            try consume(PQexecPrepared(connection, name, count, values, lengths, formats, 0))
        }
    }

    /// A trusted multi-statement script (migration files): PQexec without parameters.
    func executeScript(_ sql: String) throws {
        guard PQsendQuery(connection, sql) == 1 else { throw connectionError("could not send the script") }
        var firstError: PostgresError?
        while let result = PQgetResult(connection) {
            do { _ = try consume(result) } catch let error as PostgresError { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }

    /// Turns a PGresult into rows or an error, and frees it.
    func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else { throw connectionError("no result from the server") }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], rows: [], affectedRows: Self.affectedRows(result))
        case PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return try Self.rows(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            throw PostgresError(.misuse, reason: "COPY must go through PostgresSession.copy")
        default:
            throw resultError(result)
        }
    }

    /// The error a failed result carries, classified as connection loss when the
    /// connection broke with it (admin shutdown, backend killed, network).
    func resultError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        var info = PostgresError.ServerInfo()
        info.severity = field("V") ?? field("S")
        info.message = field("M")
        info.detail = field("D")
        info.hint = field("H")
        info.position = field("P")
        info.context = field("W")
        info.schemaName = field("s")
        info.tableName = field("t")
        info.columnName = field("c")
        info.dataTypeName = field("d")
        info.constraintName = field("n")
        let sqlState = field("C")
        let message = String(cString: PQresultErrorMessage(result)).trimmingTrailingNewlines()
        let broken = isBroken
        return PostgresError(
            broken ? .connectionLost : (sqlState == "57014" ? .queryCancelled : .server),
            sqlState: sqlState, serverInfo: sqlState == nil ? nil : info, reason: message
        )
    }

    func connectionError(_ context: String) -> PostgresError {
        let message = String(cString: PQerrorMessage(connection)).trimmingTrailingNewlines()
        return PostgresError(isBroken ? .connectionLost : .server, reason: "\(context): \(message)")
    }

    private static func affectedRows(_ result: OpaquePointer) -> Int {
        Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    private static func rows(_ result: OpaquePointer) throws -> PostgresRows {
        let rowCount = PQntuples(result), columnCount = PQnfields(result)
        var columns: [PostgresRows.Column] = []
        columns.reserveCapacity(Int(columnCount))
        for c in 0..<columnCount {
            columns.append(.init(name: String(cString: PQfname(result, c)), typeOID: PQftype(result, c)))
        }
        let names = columns.map(\.name)
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(rowCount))
        for r in 0..<rowCount {
            var values: [PostgresValue] = []
            values.reserveCapacity(columns.count)
            for c in 0..<columnCount {
                if PQgetisnull(result, r, c) == 1 {
                    values.append(.null)
                } else {
                    let text = String(cString: PQgetvalue(result, r, c))
                    values.append(try PostgresTextFormat.decode(text, typeOID: columns[Int(c)].typeOID))
                }
            }
            rows.append(PostgresRow(values: values, columnNames: names))
        }
        return PostgresRows(columns: columns, rows: rows, affectedRows: affectedRows(result))
    }

    /// Lays the parameters out in one buffer and lends libpq its arrays. Text
    /// values are NUL-terminated; bytea is sent in binary format with its length.
    private static func withParameters<T>(
        _ parameters: [PostgresValue],
        _ body: (Int32, [Oid], [UnsafePointer<CChar>?], [Int32], [Int32]) throws -> T
    ) throws -> T {
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var types: [Oid] = []
        for value in parameters {
            types.append(PostgresTextFormat.typeOID(of: value))
            switch value {
            case .null:
                offsets.append(nil); lengths.append(0); formats.append(0)
            case .bytea(let bytes):
                offsets.append(buffer.count); lengths.append(Int32(bytes.count)); formats.append(1)
                buffer.append(contentsOf: bytes)
                buffer.append(0) // keeps an empty value's pointer valid
            default:
                let text = try PostgresTextFormat.encode(value) ?? ""
                offsets.append(buffer.count); lengths.append(0); formats.append(0)
                buffer.append(contentsOf: text.utf8)
                buffer.append(0)
            }
        }
        return try buffer.withUnsafeBufferPointer { raw in
            let base = raw.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.flatMap { base?.advanced(by: $0) } }
            return try body(Int32(parameters.count), types, pointers, lengths, formats)
        }
    }
}
