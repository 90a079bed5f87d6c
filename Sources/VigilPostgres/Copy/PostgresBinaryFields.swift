// Values in PostgreSQL's binary format, laid out as the fields of a binary COPY row: a
// big-endian int32 length (-1 for NULL) followed by the type's send format. The COPY writer
// builds its rows with it, and the audit chain hashes rows in exactly this form.
import Foundation

/// A growing byte string of binary COPY fields. Each `append` adds one field; the value must
/// use the column's exact type (`int8` takes `Int64`, `real` takes `Float`...).
public struct PostgresBinaryFields: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// Microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
    static let postgresEpochOffset: Int64 = 946_684_800_000_000

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    /// The bytes from `start` on (a slice of this buffer: use it before the next append).
    public func suffix(from start: Int) -> ArraySlice<UInt8> { bytes[start...] }

    public mutating func removeAll(keepingCapacity: Bool = true) { bytes.removeAll(keepingCapacity: keepingCapacity) }

    public mutating func appendNull() { appendBigEndian(Int32(-1)) }

    public mutating func append(_ value: Int16) { appendBigEndian(Int32(2)); appendBigEndian(value) }
    public mutating func append(_ value: Int32) { appendBigEndian(Int32(4)); appendBigEndian(value) }
    public mutating func append(_ value: Int64) { appendBigEndian(Int32(8)); appendBigEndian(value) }
    public mutating func append(_ value: Float) { appendBigEndian(Int32(4)); appendBigEndian(value.bitPattern) }
    public mutating func append(_ value: Double) { appendBigEndian(Int32(8)); appendBigEndian(value.bitPattern) }
    public mutating func append(_ value: Bool) { appendBigEndian(Int32(1)); bytes.append(value ? 1 : 0) }

    /// `text`/`varchar` as UTF-8. Throws for NUL bytes, which text columns cannot hold.
    public mutating func append(_ value: String) throws {
        var value = value
        try value.withUTF8 { utf8 in
            guard !utf8.contains(0) else {
                throw PostgresError(.encoding, reason: "text values cannot contain NUL bytes; use bytea")
            }
            appendBigEndian(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// `timestamptz`: microseconds since 2000-01-01 UTC (sub-microsecond parts rounded). Throws
    /// `.encoding` for a date PostgreSQL cannot hold (or not finite); nothing is appended then.
    public mutating func append(_ value: Date) throws(PostgresError) {
        guard let micros = PostgresTextFormat.microseconds(value) else {
            throw PostgresError(.encoding, reason: "a timestamp outside PostgreSQL's range (4713 BC ... 294276 AD) or not finite")
        }
        appendBigEndian(Int32(8))
        // Cannot overflow: micros >= PostgreSQL's minimum, far above Int64.min + the offset.
        appendBigEndian(micros - Self.postgresEpochOffset)
    }

    public mutating func append(bytea: [UInt8]) {
        appendBigEndian(Int32(bytea.count))
        bytes.append(contentsOf: bytea)
    }

    /// `jsonb`: version byte 1, then the document text.
    public mutating func append(jsonb: String) throws {
        var text = jsonb
        try text.withUTF8 { utf8 in
            guard !utf8.contains(0) else { throw PostgresError(.encoding, reason: "JSON text cannot contain NUL bytes") }
            appendBigEndian(Int32(utf8.count + 1))
            bytes.append(1)
            bytes.append(contentsOf: utf8)
        }
    }

    /// `real[]`, one dimension, lower bound 1; nil elements are NULL.
    public mutating func append(floats: [Float?]) {
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

    /// `real[]` without NULL elements.
    public mutating func append(floats: [Float]) {
        if floats.isEmpty {
            append(floats: [Float?]())
            return
        }
        appendBigEndian(Int32(20 + 8 * floats.count))
        appendBigEndian(Int32(1))
        appendBigEndian(Int32(0))
        appendBigEndian(PostgresTypeOID.float4)
        appendBigEndian(Int32(floats.count))
        appendBigEndian(Int32(1))
        for element in floats { appendBigEndian(Int32(4)); appendBigEndian(element.bitPattern) }
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
        case .timestamptz(let v): try append(v)
        case .jsonb(let v): try append(jsonb: v)
        case .float32Array(let v): append(floats: v)
        case .other:
            throw PostgresError(.encoding, reason: "binary format cannot send values of other types; cast in SQL instead")
        }
    }

    /// Raw bytes outside any field (COPY's header, row counts and trailer).
    mutating func appendRaw<T: FixedWidthInteger>(_ value: T) { appendBigEndian(value) }
    mutating func appendRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    @inline(__always)
    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Something that takes values as binary COPY fields: a COPY in progress or a byte string.
/// Row encoders written against it produce the same bytes for a COPY and for a hash.
public protocol PostgresFieldWriter {
    mutating func appendNull()
    mutating func append(_ value: Int16)
    mutating func append(_ value: Int32)
    mutating func append(_ value: Int64)
    mutating func append(_ value: Float)
    mutating func append(_ value: Double)
    mutating func append(_ value: Bool)
    mutating func append(_ value: String) throws
    mutating func append(_ value: Date) throws
    mutating func append(bytea: [UInt8])
    mutating func append(jsonb: String) throws
    mutating func append(floats: [Float])
}

extension PostgresBinaryFields: PostgresFieldWriter {}
extension PostgresCopyWriter: PostgresFieldWriter {}
