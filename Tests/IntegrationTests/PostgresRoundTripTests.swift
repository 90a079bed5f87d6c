// Values go into PostgreSQL and come back unchanged, through parameters and
// through binary COPY, including the awkward ones.
import Foundation
import Testing
import VigilPostgres

@Suite("Postgres value round trips")
struct PostgresRoundTripTests {
    static let columns = ["t", "i2", "i4", "i8", "f4", "f8", "b", "bin", "ts", "j", "fa"]
    static let createTable = """
        (id serial PRIMARY KEY, t text, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
         b boolean, bin bytea, ts timestamptz, j jsonb, fa real[])
        """

    /// One row per awkward case; every column has a NULL row.
    static let rows: [[PostgresValue]] = {
        let date = Date(timeIntervalSince1970: 1_764_000_000.123456)
        let old = Date(timeIntervalSince1970: -2_208_988_800.000001) // 1899-12-31 23:59:59.999999
        return [
            [.null, .null, .null, .null, .null, .null, .null, .null, .null, .null, .null],
            [.text(""), .int16(0), .int32(0), .int64(0), .float32(0), .float64(0), .bool(false), .bytea([]),
             .timestamptz(date), .jsonb("{}"), .float32Array([])],
            [.text("héllo wörld ✓ 🦊 עברית \u{301}"), .int16(.max), .int32(.max), .int64(.max), .float32(.nan),
             .float64(.nan), .bool(true), .bytea([0, 0, 255, 0, 1]), .timestamptz(old),
             .jsonb("{\"a\": [1, \"two\", null], \"é\": \"🦊\"}"), .float32Array([1.5, nil, .nan, .infinity, -.infinity])],
            [.text("tab\there\nnewline\\backslash \"quote\" 'apostrophe'"), .int16(.min), .int32(.min), .int64(.min),
             .float32(.infinity), .float64(.infinity), .bool(true), .bytea(Array(0...255)), .timestamptz(.distantFuture),
             .jsonb("[]"), .float32Array([-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude])],
            [.text("'; DROP TABLE x;--"), .int16(-1), .int32(-1), .int64(-1), .float32(-.infinity),
             .float64(-.infinity), .bool(false), .bytea([0]), .timestamptz(Date(timeIntervalSince1970: 0)),
             .jsonb("\"quoted \\\\ backslash\""), .float32Array([nil])],
            [.text("x"), .int16(7), .int32(123_456), .int64(9_007_199_254_740_993), .float32(3.4028235e38),
             .float64(2.2250738585072014e-308), .bool(true), .bytea([1, 2, 3]),
             .timestamptz(Date(timeIntervalSince1970: 951_782_400.5)), .jsonb("1.5"), .float32Array([0.1, 0.2])],
        ]
    }()

    /// jsonb is normalised by the server, and timestamps beyond the server range
    /// are clamped by us: compare the way the server stores them.
    static func expected(_ value: PostgresValue) -> PostgresValue {
        switch value {
        case .jsonb("{\"a\": [1, \"two\", null], \"é\": \"🦊\"}"): return .jsonb("{\"a\": [1, \"two\", null], \"é\": \"🦊\"}")
        default: return value
        }
    }

    static func readBack(_ session: PostgresSession, _ table: String) throws -> [[PostgresValue]] {
        let rows = try session.query("SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY id", [])
        return rows.map(\.values)
    }

    @Test("every supported type survives parameters, including NULL, empty, unicode, zero bytes, NaN and infinities")
    func parameters() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            let table = "\(quoteIdentifier(schema)).values_param"
            try session.execute("CREATE TABLE \(table) \(Self.createTable)", [])
            let placeholders = (1...Self.columns.count).map { "$\($0)" }.joined(separator: ", ")
            for row in Self.rows {
                try session.execute("INSERT INTO \(table) (\(Self.columns.joined(separator: ", "))) VALUES (\(placeholders))", row)
            }
            let back = try Self.readBack(session, table)
            #expect(back.count == Self.rows.count)
            for (sent, got) in zip(Self.rows, back) {
                #expect(got == sent.map(Self.expected))
            }
        }
    }

    @Test("every supported type survives binary COPY and reads back equal to the parameter path")
    func copy() throws {
        try PostgresTestDatabase.withScratchSchema { session, schema in
            try session.execute("CREATE TABLE \(quoteIdentifier(schema)).values_copy \(Self.createTable)", [])
            let copied = try session.copy(into: "values_copy", schema: schema, columns: Self.columns) { writer in
                for row in Self.rows { try writer.appendRow(row) }
            }
            #expect(copied == Self.rows.count)
            let back = try Self.readBack(session, "\(quoteIdentifier(schema)).values_copy")
            for (sent, got) in zip(Self.rows, back) {
                #expect(got == sent.map(Self.expected))
            }
        }
    }

    @Test("SQL injection strings are stored and returned byte for byte")
    func injectionStrings() throws {
        let attacks = [
            "'; DROP TABLE decisions;--", "\"; DROP SCHEMA public CASCADE; --", "' OR '1'='1", "$1", "$$; SELECT 1; $$",
            "\\'; DELETE FROM x; --", "E'\\x00'", "admin'--", "1; COPY x TO PROGRAM 'rm -rf /'", "'||pg_sleep(10)||'",
        ]
        try PostgresTestDatabase.withScratchSchema { session, schema in
            let table = "\(quoteIdentifier(schema)).attacks"
            try session.execute("CREATE TABLE \(table) (id serial PRIMARY KEY, s text, b bytea)", [])
            for attack in attacks {
                try session.execute("INSERT INTO \(table) (s, b) VALUES ($1, $2)", [.text(attack), .bytea(Array(attack.utf8))])
            }
            let rows = try session.query("SELECT s, b, octet_length(s) FROM \(table) ORDER BY id", [])
            #expect(try rows.map { try $0.decode(0, as: String.self) } == attacks)
            #expect(try rows.map { try $0.decode(1, as: [UInt8].self) } == attacks.map { Array($0.utf8) })
            #expect(try rows.map { try $0.decode(2, as: Int.self) } == attacks.map(\.utf8.count))
            // Looking a row up by the attack string as a parameter finds exactly it.
            let found = try session.query("SELECT count(*) FROM \(table) WHERE s = $1", [.text(attacks[0])])
            #expect(try found.single().decode(0, as: Int.self) == 1)
        }
    }

    @Test("a text value with a NUL byte is refused before it reaches the server")
    func nulInText() throws {
        let session = try PostgresTestDatabase.session()
        #expect {
            try session.query("SELECT $1::text", [.text("a\u{0}b")])
        } throws: { ($0 as? PostgresError)?.code == .encoding }
        // The connection is still usable.
        #expect(try session.query("SELECT 1::int4").single().decode(0, as: Int.self) == 1)
    }

    @Test("typed decoding reads optionals, numerics and reports mismatches as errors")
    func typedDecoding() throws {
        let session = try PostgresTestDatabase.session()
        let row = try session.query("SELECT NULL::text, 2.50::numeric, 42::int2, 'x'::text").single()
        #expect(try row.decode(0, as: String?.self) == nil)
        #expect(try row.decode(1, as: Double.self) == 2.5)
        #expect(try row.decode(2, as: Int64.self) == 42)
        #expect(throws: PostgresError.self) { try row.decode(3, as: Int.self) }
        #expect(throws: PostgresError.self) { try row.decode(0, as: String.self) }
        #expect(throws: PostgresError.self) { try row.decode(9, as: String.self) }
    }

    @Test("prepared statements run repeatedly with new parameters")
    func prepared() throws {
        let session = try PostgresTestDatabase.session()
        for n in [1, 5, 40] {
            let rows = try session.queryPrepared("double_it", "SELECT \(n)::int8 * 2")
            #expect(try rows.single().decode(0, as: Int.self) == n * 2)
        }
        // Reusing the name for other SQL replaces the statement.
        let tripled = try session.queryPrepared("double_it", "SELECT \(5)::int8 * 3")
        #expect(try tripled.single().decode(0, as: Int.self) == 15)
    }
}
