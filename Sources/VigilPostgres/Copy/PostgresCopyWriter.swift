// Streams rows into `COPY ... FROM STDIN (FORMAT binary)`: the sink's hot path
// for decisions. Binary format needs no escaping at all; each field is a
// big-endian length followed by the type's binary send format.
import CLibPQ
import Foundation

/// Appends rows in PostgreSQL's binary COPY format and sends them in ~1 MiB
/// chunks. Obtained from `PostgresSession.copy(into:columns:_:)`.
///
/// Each appended value must use the column's exact type (an `int8` column takes
/// `append(Int64)`, `int4` takes `append(Int32)`, `real` takes `append(Float)`...):
/// the server rejects a wrong width with "incorrect binary data format".
public struct PostgresCopyWriter {
    /// Buffered bytes beyond which a row end sends the chunk. 1 MiB measured
    /// best in the postgres benchmark; smaller chunks cost more round trips.
    static let flushThreshold = 1 << 20

    private let handle: ConnectionHandle
    private let columnCount: Int
    private var buffer: PostgresBinaryFields
    private var fieldsInRow = 0
    private var inRow = false
    /// Where the current row's first field starts in `buffer`.
    private var rowFieldsStart = 0
    /// Set when values were appended outside a row; reported by endRow()/finish().
    private var misused = false
    /// A value of the current row that cannot be sent (a timestamp PostgreSQL cannot hold);
    /// reported by endRow(), so the non-throwing appends never trap on outside data.
    private var unsendable: PostgresError?
    private var ended = false
    public private(set) var rowsWritten = 0

    /// Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
    static let postgresEpochOffset: Int64 = PostgresBinaryFields.postgresEpochOffset

    init(handle: ConnectionHandle, sql: String, columnCount: Int) throws {
        self.handle = handle
        self.columnCount = columnCount
        try handle.withConnection { connection in
            guard let result = PQexec(connection, sql) else { throw handle.connectionError("COPY") }
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COPY_IN else { throw handle.resultError(result) }
        }
        buffer = PostgresBinaryFields(capacity: Self.flushThreshold + 64 * 1024)
        // Signature, flags, header extension length.
        buffer.appendRaw([0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])
        buffer.appendRaw(Int32(0))
        buffer.appendRaw(Int32(0))
    }

    /// Starts a row; append exactly one value per column, then call `endRow()`.
    public mutating func beginRow() {
        if inRow { misused = true }
        inRow = true
        fieldsInRow = 0
        buffer.appendRaw(Int16(columnCount))
        rowFieldsStart = buffer.count
    }

    /// Lends `body` the fields appended to the current row so far, in binary COPY field form
    /// (each an int32 length, -1 for NULL, then the value) without the row's field count:
    /// what the audit chain hashes. The slice shares the writer's buffer; do not keep it.
    public func withCurrentRowFields<T>(_ body: (ArraySlice<UInt8>) throws -> T) rethrows -> T {
        try body(buffer.suffix(from: inRow ? rowFieldsStart : buffer.count))
    }

    public mutating func endRow() throws {
        if let unsendable { throw unsendable }
        guard inRow, !misused, fieldsInRow == columnCount else {
            throw PostgresError(.misuse, reason: "COPY row has \(fieldsInRow) values for \(columnCount) columns")
        }
        inRow = false
        rowsWritten += 1
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends a whole row of typed values.
    public mutating func appendRow(_ values: [PostgresValue]) throws {
        beginRow()
        for value in values { try append(value) }
        try endRow()
    }

    public mutating func appendNull() { field(); buffer.appendNull() }

    public mutating func append(_ value: Int16) { field(); buffer.append(value) }
    public mutating func append(_ value: Int32) { field(); buffer.append(value) }
    public mutating func append(_ value: Int64) { field(); buffer.append(value) }
    public mutating func append(_ value: Float) { field(); buffer.append(value) }
    public mutating func append(_ value: Double) { field(); buffer.append(value) }
    public mutating func append(_ value: Bool) { field(); buffer.append(value) }

    /// `text`/`varchar`. Throws for NUL bytes, which text columns cannot hold.
    public mutating func append(_ value: String) throws { field(); try buffer.append(value) }

    /// `timestamptz` (microsecond precision). Throws `.encoding` for a date PostgreSQL cannot
    /// hold (or not finite), so outside data never traps and the row is refused whole.
    public mutating func append(_ value: Date) throws {
        field()
        do { try buffer.append(value) } catch {
            unsendable = unsendable ?? error
            throw error
        }
    }

    public mutating func append(bytea: [UInt8]) { field(); buffer.append(bytea: bytea) }

    /// `jsonb`: version byte 1, then the document text.
    public mutating func append(jsonb: String) throws { field(); try buffer.append(jsonb: jsonb) }

    /// `real[]`, one dimension, lower bound 1; nil elements are NULL.
    public mutating func append(floats: [Float?]) { field(); buffer.append(floats: floats) }

    /// `real[]` without NULL elements.
    public mutating func append(floats: [Float]) { field(); buffer.append(floats: floats) }

    /// Appends any supported value in its column type's binary format.
    public mutating func append(_ value: PostgresValue) throws {
        if case .other = value {
            throw PostgresError(.encoding, reason: "binary COPY cannot send values of other types; cast in SQL instead")
        }
        field()
        try buffer.append(value)
    }

    /// Sends the trailer, ends the COPY and returns the server's row count.
    mutating func finish() throws -> Int {
        guard !inRow, !misused else {
            throw PostgresError(.misuse, reason: "COPY finished inside a row or after values outside a row")
        }
        buffer.appendRaw(Int16(-1))
        try flush()
        ended = true
        return try handle.withConnection { connection in
            guard PQputCopyEnd(connection, nil) == 1 else { throw handle.connectionError("COPY end") }
            var rows: PostgresRows?
            var failure: PostgresError?
            while let result = PQgetResult(connection) {
                do { rows = try handle.consume(result) } catch let error as PostgresError { failure = failure ?? error }
            }
            if let failure { throw failure }
            return rows?.affectedRows ?? 0
        }
    }

    /// Ends the COPY with an error so the server discards everything sent.
    mutating func abort(reason: String) {
        guard !ended else { return }
        ended = true
        handle.withConnection { connection in
            _ = PQputCopyEnd(connection, reason)
            while let result = PQgetResult(connection) { PQclear(result) }
        }
    }

    private mutating func flush() throws {
        guard buffer.count > 0 else { return }
        let sent = buffer.bytes.withUnsafeBufferPointer { bytes in
            handle.withConnection { connection in
                bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
        }
        guard sent == 1 else { throw handle.connectionError("COPY data") }
        buffer.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private mutating func field() {
        if !inRow { misused = true }
        fieldsInRow += 1
    }
}
