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
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0
    private var inRow = false
    /// Set when values were appended outside a row; reported by endRow()/finish().
    private var misused = false
    /// A value of the current row that cannot be sent (a timestamp PostgreSQL cannot hold);
    /// reported by endRow(), so the non-throwing appends never trap on outside data.
    private var unsendable: PostgresError?
    private var ended = false
    public private(set) var rowsWritten = 0

    /// Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    init(handle: ConnectionHandle, sql: String, columnCount: Int) throws {
        self.handle = handle
        self.columnCount = columnCount
        try handle.withConnection { connection in
            guard let result = PQexec(connection, sql) else { throw handle.connectionError("COPY") }
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COPY_IN else { throw handle.resultError(result) }
        }
        buffer.reserveCapacity(Self.flushThreshold + 64 * 1024)
        // Signature, flags, header extension length.
        buffer.append(contentsOf: [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00])
        appendBigEndian(Int32(0))
        appendBigEndian(Int32(0))
    }

    /// Starts a row; append exactly one value per column, then call `endRow()`.
    public mutating func beginRow() {
        if inRow { misused = true }
        inRow = true
        fieldsInRow = 0
        appendBigEndian(Int16(columnCount))
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

    public mutating func appendNull() { field(); appendBigEndian(Int32(-1)) }

    public mutating func append(_ value: Int16) { field(); appendBigEndian(Int32(2)); appendBigEndian(value) }
    public mutating func append(_ value: Int32) { field(); appendBigEndian(Int32(4)); appendBigEndian(value) }
    public mutating func append(_ value: Int64) { field(); appendBigEndian(Int32(8)); appendBigEndian(value) }
    public mutating func append(_ value: Float) { field(); appendBigEndian(Int32(4)); appendBigEndian(value.bitPattern) }
    public mutating func append(_ value: Double) { field(); appendBigEndian(Int32(8)); appendBigEndian(value.bitPattern) }
    public mutating func append(_ value: Bool) { field(); appendBigEndian(Int32(1)); buffer.append(value ? 1 : 0) }

    /// `text`/`varchar`. Throws for NUL bytes, which text columns cannot hold.
    public mutating func append(_ value: String) throws {
        var value = value
        try value.withUTF8 { utf8 in
            guard !utf8.contains(0) else {
                throw PostgresError(.encoding, reason: "text values cannot contain NUL bytes; use bytea")
            }
            field()
            appendBigEndian(Int32(utf8.count))
            buffer.append(contentsOf: utf8)
        }
    }

    /// `timestamptz` (microsecond precision). A date PostgreSQL cannot hold (or not finite)
    /// makes `endRow()` throw an `.encoding` error.
    public mutating func append(_ value: Date) {
        field()
        appendBigEndian(Int32(8))
        guard let micros = PostgresTextFormat.microseconds(value) else {
            unsendable = unsendable ?? PostgresError(.encoding, reason: "a timestamp outside PostgreSQL's range (4713 BC ... 294276 AD) or not finite")
            appendBigEndian(Int64(0))
            return
        }
        // Cannot overflow: micros >= minimumMicroseconds, far above Int64.min + the offset.
        appendBigEndian(micros - Self.postgresEpochOffset)
    }

    public mutating func append(bytea: [UInt8]) {
        field()
        appendBigEndian(Int32(bytea.count))
        buffer.append(contentsOf: bytea)
    }

    /// `jsonb`: version byte 1, then the document text.
    public mutating func append(jsonb: String) throws {
        var text = jsonb
        try text.withUTF8 { utf8 in
            guard !utf8.contains(0) else { throw PostgresError(.encoding, reason: "JSON text cannot contain NUL bytes") }
            field()
            appendBigEndian(Int32(utf8.count + 1))
            buffer.append(1)
            buffer.append(contentsOf: utf8)
        }
    }

    /// `real[]`, one dimension, lower bound 1; nil elements are NULL.
    public mutating func append(floats: [Float?]) {
        field()
        let hasNull = floats.contains { $0 == nil }
        let elementBytes = floats.reduce(0) { $0 + ($1 == nil ? 4 : 8) }
        if floats.isEmpty {
            appendBigEndian(Int32(12))
            appendBigEndian(Int32(0)); appendBigEndian(Int32(0)); appendBigEndian(PostgresTypeOID.float4)
            return
        }
        appendBigEndian(Int32(20 + elementBytes))
        appendBigEndian(Int32(1))
        appendBigEndian(Int32(hasNull ? 1 : 0))
        appendBigEndian(PostgresTypeOID.float4)
        appendBigEndian(Int32(floats.count))
        appendBigEndian(Int32(1))
        for element in floats {
            if let element { appendBigEndian(Int32(4)); appendBigEndian(element.bitPattern) } else { appendBigEndian(Int32(-1)) }
        }
    }

    /// Appends any supported value in its column type's binary format.
    public mutating func append(_ value: PostgresValue) throws {
        switch value {
        case .null: appendNull()
        case .text(let v): try append(v)
        case .int16(let v): append(v)
        case .int32(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v)
        case .float64(let v): append(v)
        case .bool(let v): append(v)
        case .bytea(let v): append(bytea: v)
        case .timestamptz(let v): append(v)
        case .jsonb(let v): try append(jsonb: v)
        case .float32Array(let v): append(floats: v)
        case .other:
            throw PostgresError(.encoding, reason: "binary COPY cannot send values of other types; cast in SQL instead")
        }
    }

    /// Sends the trailer, ends the COPY and returns the server's row count.
    mutating func finish() throws -> Int {
        guard !inRow, !misused else {
            throw PostgresError(.misuse, reason: "COPY finished inside a row or after values outside a row")
        }
        appendBigEndian(Int16(-1))
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
        guard !buffer.isEmpty else { return }
        let sent = buffer.withUnsafeBufferPointer { bytes in
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

    @inline(__always)
    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
