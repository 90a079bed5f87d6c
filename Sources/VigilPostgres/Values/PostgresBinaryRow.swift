// One row of a binary-format result (`PostgresSession.forEachBinaryRow`), held as binary COPY
// fields: what a reader hashes when a row's binary form is its canonical encoding, with typed
// access to the fields it needs to read.
import Foundation

/// A result row in PostgreSQL's binary send format. `fields` is every column as a binary COPY
/// field (big-endian int32 length, -1 for NULL, then the value), in select-list order.
public struct PostgresBinaryRow: Sendable {
    public private(set) var fields: [UInt8] = []
    /// Where each column's field (its length word) starts in `fields`.
    private var starts: [Int] = []

    init(columnCount: Int) {
        starts.reserveCapacity(columnCount)
        fields.reserveCapacity(256)
    }

    public var columnCount: Int { starts.count }

    mutating func reset() {
        fields.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
    }

    mutating func appendNull() {
        starts.append(fields.count)
        appendLength(-1)
    }

    mutating func appendField(_ value: UnsafeRawBufferPointer) {
        starts.append(fields.count)
        appendLength(Int32(value.count))
        fields.append(contentsOf: value)
    }

    private mutating func appendLength(_ length: Int32) {
        withUnsafeBytes(of: length.bigEndian) { fields.append(contentsOf: $0) }
    }

    /// The fields of columns `range` (length words included).
    public func fields(_ range: Range<Int>) -> ArraySlice<UInt8> {
        let start = range.lowerBound < starts.count ? starts[range.lowerBound] : fields.count
        let end = range.upperBound < starts.count ? starts[range.upperBound] : fields.count
        return fields[start..<end]
    }

    public func isNull(_ column: Int) -> Bool { length(column) < 0 }

    /// The value bytes of a column (nil for NULL).
    public func value(_ column: Int) -> ArraySlice<UInt8>? {
        let n = length(column)
        guard n >= 0 else { return nil }
        let start = starts[column] + 4
        return fields[start..<(start + Int(n))]
    }

    public func int64(_ column: Int) throws -> Int64 { try integer(column, as: Int64.self) }
    public func int32(_ column: Int) throws -> Int32 { try integer(column, as: Int32.self) }
    public func int16(_ column: Int) throws -> Int16 { try integer(column, as: Int16.self) }

    public func text(_ column: Int) throws -> String {
        guard let bytes = value(column) else { throw PostgresError(.decoding, reason: "column \(column) is NULL, expected text") }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func bytea(_ column: Int) -> [UInt8]? { value(column).map(Array.init) }

    /// `timestamptz` as microseconds since 1970-01-01 UTC.
    public func timestampMicroseconds(_ column: Int) throws -> Int64 {
        try int64(column) + PostgresBinaryFields.postgresEpochOffset
    }

    private func length(_ column: Int) -> Int32 {
        precondition(column >= 0 && column < starts.count, "column \(column) out of 0..<\(starts.count)")
        let s = starts[column]
        return Int32(bitPattern: UInt32(fields[s]) << 24 | UInt32(fields[s + 1]) << 16 | UInt32(fields[s + 2]) << 8 | UInt32(fields[s + 3]))
    }

    private func integer<T: FixedWidthInteger>(_ column: Int, as: T.Type) throws -> T {
        guard let bytes = value(column), bytes.count == MemoryLayout<T>.size else {
            throw PostgresError(.decoding, reason: "column \(column) is not a non-NULL \(MemoryLayout<T>.size)-byte integer")
        }
        var v: T = 0
        for b in bytes { v = v << 8 | T(truncatingIfNeeded: b) }
        return v
    }
}
