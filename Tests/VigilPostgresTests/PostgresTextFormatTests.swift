// The text wire format without a server: numbers, timestamps, bytea, arrays.
import Foundation
import Testing
@testable import VigilPostgres

@Suite("Text format")
struct PostgresTextFormatTests {
    @Test("doubles and floats encode NaN and infinities as PostgreSQL spells them and parse back")
    func specialFloats() throws {
        #expect(try PostgresTextFormat.encode(.float64(.nan)) == "NaN")
        #expect(try PostgresTextFormat.encode(.float64(.infinity)) == "Infinity")
        #expect(try PostgresTextFormat.encode(.float64(-.infinity)) == "-Infinity")
        #expect(try PostgresTextFormat.encode(.float32(-.infinity)) == "-Infinity")
        for value in [0.1, -2.5e-300, 1.7976931348623157e308, Double.leastNonzeroMagnitude, -0.0, 123456789.123456789] {
            let text = try #require(try PostgresTextFormat.encode(.float64(value)))
            #expect(PostgresTextFormat.parseDouble(text) == value)
        }
        #expect(try PostgresTextFormat.decode("NaN", typeOID: 701) == .float64(.nan))
        #expect(try PostgresTextFormat.decode("-Infinity", typeOID: 700) == .float32(-.infinity))
        #expect(try PostgresTextFormat.decode("1.5", typeOID: 700) == .float32(1.5))
    }

    @Test("timestamps format as ISO UTC with microseconds and parse back, before and after 1970")
    func timestamps() throws {
        let cases: [(Double, String)] = [
            (0, "1970-01-01 00:00:00.000000+00"),
            (951_782_400.5, "2000-02-29 00:00:00.500000+00"),
            (-1, "1969-12-31 23:59:59.000000+00"),
            (1_764_000_000.123456, "2025-11-24 16:00:00.123456+00"),
            (-62_135_596_800, "0001-01-01 00:00:00.000000+00"),
        ]
        for (seconds, text) in cases {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(PostgresTextFormat.timestamp(date) == text)
            #expect(PostgresTextFormat.parseTimestamp(text) == date)
        }
    }

    @Test("timestamps PostgreSQL or Int64 cannot hold are refused, never trapped on")
    func extremeTimestamps() throws {
        // A Kafka CreateTime of 9.3e15 ms is 9.3e18 microseconds: past Int64, which trapped here.
        let extremes: [Double] = [9.3e15, -9.3e15, 1e300, -1e300, .infinity, -.infinity, .nan, 9_223_372_036_854.775808,
                                  -210_866_803_201]
        for seconds in extremes {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(PostgresTextFormat.microseconds(date) == nil, "\(seconds) s")
            #expect(PostgresTextFormat.timestamp(date) == nil, "\(seconds) s")
            #expect(throws: PostgresError.self) { try PostgresTextFormat.encode(.timestamptz(date)) }
        }
        // Inside PostgreSQL's range but outside years 1...9999: binary COPY can send it, text cannot.
        #expect(PostgresTextFormat.microseconds(Date(timeIntervalSince1970: 9_000_000_000_000)) == 9_000_000_000_000_000_000)
        #expect(PostgresTextFormat.timestamp(Date(timeIntervalSince1970: 9_000_000_000_000)) == nil)
        #expect(PostgresTextFormat.microseconds(Date(timeIntervalSince1970: -210_866_803_200)) == PostgresTextFormat.minimumMicroseconds)
        #expect(PostgresTextFormat.timestamp(Date(timeIntervalSince1970: 253_402_300_799)) == "9999-12-31 23:59:59.000000+00")
    }

    @Test("timestamp parsing honours offsets, short fractions and infinity, and rejects garbage")
    func timestampParsing() {
        let base = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(PostgresTextFormat.parseTimestamp("2023-11-14 22:13:20+00") == base)
        #expect(PostgresTextFormat.parseTimestamp("2023-11-15 03:43:20+05:30") == base)
        #expect(PostgresTextFormat.parseTimestamp("2023-11-14 17:13:20-05") == base)
        #expect(PostgresTextFormat.parseTimestamp("2023-11-14 22:13:20.25+00") == base.addingTimeInterval(0.25))
        #expect(PostgresTextFormat.parseTimestamp("2023-11-14T22:13:20+00") == base)
        #expect(PostgresTextFormat.parseTimestamp("infinity") == .distantFuture)
        for bad in ["", "2023-13-01 00:00:00+00", "2023-11-14", "2023-11-14 22:13:20+", "yesterday", "2023-11-14 22:13:20+00 BC"] {
            #expect(PostgresTextFormat.parseTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test("bytea hex output decodes, including zero bytes and empty values; malformed hex fails")
    func bytea() throws {
        #expect(PostgresTextFormat.parseHexBytea("\\x") == [])
        #expect(PostgresTextFormat.parseHexBytea("\\x00ff00A0") == [0, 255, 0, 160])
        #expect(PostgresTextFormat.parseHexBytea("\\x0") == nil)
        #expect(PostgresTextFormat.parseHexBytea("\\xzz") == nil)
        #expect(PostgresTextFormat.parseHexBytea("00") == nil)
        #expect(throws: PostgresError.self) { try PostgresTextFormat.decode("\\xq1", typeOID: 17) }
    }

    @Test("real[] text parses NULL, NaN and infinities and encodes back")
    func floatArrays() throws {
        #expect(PostgresTextFormat.parseFloatArray("{}") == [])
        let parsed = try #require(PostgresTextFormat.parseFloatArray("{1.5,NULL,NaN,-Infinity}"))
        #expect(PostgresValue.float32Array(parsed) == .float32Array([1.5, nil, .nan, -.infinity]))
        #expect(try PostgresTextFormat.encode(.float32Array([1.5, nil, .infinity])) == "{1.5,NULL,Infinity}")
        #expect(PostgresTextFormat.parseFloatArray("{1,x}") == nil)
        #expect(PostgresTextFormat.parseFloatArray("1,2") == nil)
    }

    @Test("values decode by column type; unknown types keep their text; bad numbers are errors")
    func decodeByType() throws {
        #expect(try PostgresTextFormat.decode("t", typeOID: 16) == .bool(true))
        #expect(try PostgresTextFormat.decode("-32768", typeOID: 21) == .int16(.min))
        #expect(try PostgresTextFormat.decode("9223372036854775807", typeOID: 20) == .int64(.max))
        #expect(try PostgresTextFormat.decode("{\"a\": 1}", typeOID: 3802) == .jsonb("{\"a\": 1}"))
        #expect(try PostgresTextFormat.decode("12.50", typeOID: 1700) == .other(typeOID: 1700, text: "12.50"))
        #expect(throws: PostgresError.self) { try PostgresTextFormat.decode("99999", typeOID: 21) }
        #expect(throws: PostgresError.self) { try PostgresTextFormat.decode("yes", typeOID: 16) }
        #expect(throws: PostgresError.self) { try PostgresTextFormat.encode(.text("nul\u{0}inside")) }
    }

    @Test("typed decoding converts compatible cells and refuses NULL for non-optionals")
    func typedDecoding() throws {
        let row = PostgresRow(values: [.int16(5), .null, .other(typeOID: 1700, text: "2.25"), .bytea([0, 1])], columnNames: ["a", "b", "c", "d"])
        #expect(try row.decode(0, as: Int.self) == 5)
        #expect(try row.decode("b", as: Int?.self) == nil)
        #expect(try row.decode("c", as: Double.self) == 2.25)
        #expect(try row.decode(3, as: [UInt8].self) == [0, 1])
        #expect(throws: PostgresError.self) { try row.decode(1, as: Int.self) }
        #expect(throws: PostgresError.self) { try row.decode("missing", as: Int.self) }
    }
}
