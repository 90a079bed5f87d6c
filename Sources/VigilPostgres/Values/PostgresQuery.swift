// A statement and its parameters, written as one interpolated string: every
// interpolated value becomes a `$n` parameter, identifiers are quoted through
// their own type, and raw text goes in only through `unsafeSQL`.
import Foundation

/// SQL text with `$1, $2...` placeholders and the values bound to them.
///
///     let query: PostgresQuery = "SELECT weights FROM \(schema).models WHERE version = \(version)"
///
/// binds `version` as `$1` and quotes `schema` (a `PostgresIdentifier`). A `String`
/// interpolated this way is a value, never SQL; text that must be SQL (a fragment
/// chosen from constants) goes in as `\(unsafeSQL: fragment)`.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The statement text, with `$n` where values are bound.
    public var sql: String
    /// The bound values, `$1` first.
    public var binds: [PostgresValue]

    /// Text that is SQL as written, with values already numbered in `binds`. For statements
    /// assembled from constants; never put input into `sql`.
    public init(unsafeSQL sql: String, binds: [PostgresValue] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// The statement text only: bound values stay out of logs.
    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PostgresValue] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + 3 * interpolationCount)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A value, bound as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            appendInterpolation(value.postgresValue)
        }

        /// An optional value: NULL when nil.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            appendInterpolation(value?.postgresValue ?? .null)
        }

        /// A value of a type the protocol does not cover (jsonb, real[]).
        public mutating func appendInterpolation(_ value: PostgresValue) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        /// A schema, table or channel name, quoted.
        public mutating func appendInterpolation(_ identifier: PostgresIdentifier) {
            sql += identifier.quoted
        }

        /// A list of names (a SELECT's columns), quoted and separated by commas.
        public mutating func appendInterpolation(_ identifiers: [PostgresIdentifier]) {
            sql += identifiers.map(\.quoted).joined(separator: ", ")
        }

        /// SQL text as written: only constants chosen by the code, never input.
        public mutating func appendInterpolation(unsafeSQL text: String) {
            sql += text
        }
    }
}

/// A name in SQL (schema, table, column, role, channel), quoted when written into a statement.
public struct PostgresIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) {
        self.name = name
    }

    /// `"name"` with embedded quotes doubled: safe for any identifier text.
    public var quoted: String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    public var description: String { name }
}

/// A Swift type that goes into a statement as a parameter value.
public protocol PostgresEncodable {
    var postgresValue: PostgresValue { get }
}

extension String: PostgresEncodable {
    public var postgresValue: PostgresValue { .text(self) }
}

extension Int: PostgresEncodable {
    public var postgresValue: PostgresValue { .int64(Int64(self)) }
}

extension Int64: PostgresEncodable {
    public var postgresValue: PostgresValue { .int64(self) }
}

extension Int32: PostgresEncodable {
    public var postgresValue: PostgresValue { .int32(self) }
}

extension Int16: PostgresEncodable {
    public var postgresValue: PostgresValue { .int16(self) }
}

extension Double: PostgresEncodable {
    public var postgresValue: PostgresValue { .float64(self) }
}

extension Float: PostgresEncodable {
    public var postgresValue: PostgresValue { .float32(self) }
}

extension Bool: PostgresEncodable {
    public var postgresValue: PostgresValue { .bool(self) }
}

extension Date: PostgresEncodable {
    public var postgresValue: PostgresValue { .timestamptz(self) }
}

/// bytea.
extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresValue: PostgresValue { .bytea(self) }
}
