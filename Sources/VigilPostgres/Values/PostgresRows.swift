// A statement's result, copied out of libpq into Swift values, and typed access
// to its cells.
import Foundation

/// The rows a statement returned (empty for commands) and how many rows it touched.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public struct Column: Sendable, Hashable {
        public var name: String
        public var typeOID: UInt32
    }

    public let columns: [Column]
    public let rows: [PostgresRow]
    /// PQcmdTuples: rows inserted/updated/deleted/copied; 0 when not applicable.
    public let affectedRows: Int

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }

    /// The only row; throws when there is not exactly one.
    public func single() throws -> PostgresRow {
        guard rows.count == 1 else {
            throw PostgresError(.decoding, reason: "expected exactly one row, got \(rows.count)")
        }
        return rows[0]
    }
}

/// One result row.
public struct PostgresRow: Sendable, Hashable {
    public let values: [PostgresValue]
    let columnNames: [String]

    public init(values: [PostgresValue], columnNames: [String]) {
        self.values = values
        self.columnNames = columnNames
    }

    public subscript(index: Int) -> PostgresValue { values[index] }

    /// The value of the first column with that name.
    public subscript(name: String) -> PostgresValue? {
        columnNames.firstIndex(of: name).map { values[$0] }
    }

    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard values.indices.contains(index) else {
            throw PostgresError(.decoding, reason: "column \(index) out of range (\(values.count) columns)")
        }
        return try T.decode(values[index])
    }

    public func decode<T: PostgresDecodable>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let index = columnNames.firstIndex(of: name) else {
            throw PostgresError(.decoding, reason: "no column named \(name)")
        }
        return try T.decode(values[index])
    }
}

/// A Swift type a result cell can be decoded into. Optional<T> decodes NULL as nil.
public protocol PostgresDecodable {
    static func decode(_ value: PostgresValue) throws -> Self
}

private func mismatch<T>(_ value: PostgresValue, _ type: T.Type) -> PostgresError {
    let kind: String
    switch value {
    case .null: kind = "NULL"
    case .other(let oid, _): kind = "type OID \(oid)"
    default: kind = "\(value)".prefix { $0 != "(" }.description
    }
    return PostgresError(.decoding, reason: "cannot decode \(kind) as \(T.self)")
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Wrapped? {
        value.isNull ? nil : try Wrapped.decode(value)
    }
}

extension String: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> String {
        switch value {
        case .text(let v), .jsonb(let v), .other(_, let v): return v
        default: throw mismatch(value, String.self)
        }
    }
}

extension Int64: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Int64 {
        switch value {
        case .int16(let v): return Int64(v)
        case .int32(let v): return Int64(v)
        case .int64(let v): return v
        case .other(_, let text): if let v = Int64(text) { return v }
        default: break
        }
        throw mismatch(value, Int64.self)
    }
}

extension Int: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Int { Int(try Int64.decode(value)) }
}

extension Int32: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Int32 {
        guard let v = Int32(exactly: try Int64.decode(value)) else { throw mismatch(value, Int32.self) }
        return v
    }
}

extension Int16: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Int16 {
        guard let v = Int16(exactly: try Int64.decode(value)) else { throw mismatch(value, Int16.self) }
        return v
    }
}

extension Double: PostgresDecodable {
    /// Also reads numeric (`.other`) and integer columns, as analysts' views return them.
    public static func decode(_ value: PostgresValue) throws -> Double {
        switch value {
        case .float64(let v): return v
        case .float32(let v): return Double(v)
        case .int16(let v): return Double(v)
        case .int32(let v): return Double(v)
        case .int64(let v): return Double(v)
        case .other(_, let text): if let v = PostgresTextFormat.parseDouble(text) { return v }
        default: break
        }
        throw mismatch(value, Double.self)
    }
}

extension Float: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Float {
        if case .float32(let v) = value { return v }
        return Float(try Double.decode(value))
    }
}

extension Bool: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Bool {
        guard case .bool(let v) = value else { throw mismatch(value, Bool.self) }
        return v
    }
}

extension Date: PostgresDecodable {
    public static func decode(_ value: PostgresValue) throws -> Date {
        guard case .timestamptz(let v) = value else { throw mismatch(value, Date.self) }
        return v
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public static func decode(_ value: PostgresValue) throws -> [UInt8] {
        guard case .bytea(let v) = value else { throw mismatch(value, [UInt8].self) }
        return v
    }
}

/// `real[]` cells. (Array<UInt8> is bytea, so arrays of floats use this wrapper.)
public struct PostgresFloatArray: PostgresDecodable, Sendable, Hashable {
    public var elements: [Float?]
    public static func decode(_ value: PostgresValue) throws -> PostgresFloatArray {
        guard case .float32Array(let v) = value else { throw mismatch(value, PostgresFloatArray.self) }
        return PostgresFloatArray(elements: v)
    }
}
