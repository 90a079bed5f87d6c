// The typed values that go into statements as parameters and come back out of
// results. Parameters travel in text format (bytea in binary) with an explicit
// type OID, results come back in text format and are decoded by column type.
import Foundation

/// One SQL value. `null` carries no type; the server infers it from context.
public enum PostgresValue: Sendable, Hashable {
    case null
    case text(String)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case bool(Bool)
    case bytea([UInt8])
    /// Microsecond precision on the server; sub-microsecond parts are rounded.
    case timestamptz(Date)
    /// JSON document text; the server validates and normalises it.
    case jsonb(String)
    /// `real[]`, one dimension, elements may be NULL.
    case float32Array([Float?])
    /// A column type this wrapper does not model (numeric, uuid, interval...):
    /// the server's text form and the type OID.
    case other(typeOID: UInt32, text: String)

    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// Hashable with NaN equal to NaN, so round-trip comparisons in tests and
    /// caches treat NaN payloads as the same value.
    public static func == (lhs: PostgresValue, rhs: PostgresValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.text(a), .text(b)): return a == b
        case let (.int16(a), .int16(b)): return a == b
        case let (.int32(a), .int32(b)): return a == b
        case let (.int64(a), .int64(b)): return a == b
        case let (.float32(a), .float32(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.float64(a), .float64(b)): return a == b || (a.isNaN && b.isNaN)
        case let (.bool(a), .bool(b)): return a == b
        case let (.bytea(a), .bytea(b)): return a == b
        case let (.timestamptz(a), .timestamptz(b)): return a == b
        case let (.jsonb(a), .jsonb(b)): return a == b
        case let (.float32Array(a), .float32Array(b)):
            return a.count == b.count && zip(a, b).allSatisfy { x, y in
                switch (x, y) {
                case (nil, nil): return true
                case let (x?, y?): return x == y || (x.isNaN && y.isNaN)
                default: return false
                }
            }
        case let (.other(t1, a), .other(t2, b)): return t1 == t2 && a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .text(let v): hasher.combine(v)
        case .int16(let v): hasher.combine(v)
        case .int32(let v): hasher.combine(v)
        case .int64(let v): hasher.combine(v)
        case .float32(let v): hasher.combine(v.isNaN ? Float.nan.bitPattern : v.bitPattern)
        case .float64(let v): hasher.combine(v.isNaN ? Double.nan.bitPattern : v.bitPattern)
        case .bool(let v): hasher.combine(v)
        case .bytea(let v): hasher.combine(v)
        case .timestamptz(let v): hasher.combine(v)
        case .jsonb(let v): hasher.combine(v)
        case .float32Array(let v): hasher.combine(v.count)
        case .other(let oid, let text): hasher.combine(oid); hasher.combine(text)
        }
    }
}

/// PostgreSQL type OIDs (pg_type.dat) this wrapper sends or decodes.
enum PostgresTypeOID {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let char: UInt32 = 18
    static let name: UInt32 = 19
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let oid: UInt32 = 26
    static let json: UInt32 = 114
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
    static let unknown: UInt32 = 705
    static let bpchar: UInt32 = 1042
    static let varchar: UInt32 = 1043
    static let timestamp: UInt32 = 1114
    static let timestamptz: UInt32 = 1184
    static let float4Array: UInt32 = 1021
    static let jsonb: UInt32 = 3802
}
