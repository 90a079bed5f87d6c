// PostgreSQL's text representations of the supported types, both directions.
// Pure functions: unit-tested without a server. The session pins TimeZone=UTC
// and DateStyle=ISO (PostgresConfiguration.sessionOptions), which the timestamp
// parser relies on.
import Foundation

enum PostgresTextFormat {
    /// The text a parameter is sent as, or nil for NULL and for bytea (sent binary).
    static func encode(_ value: PostgresValue) throws -> String? {
        switch value {
        case .null, .bytea: return nil
        case .text(let s), .jsonb(let s), .other(_, let s):
            guard !s.utf8.contains(0) else {
                throw PostgresError(.encoding, reason: "text values cannot contain NUL bytes; use bytea")
            }
            return s
        case .int16(let v): return String(v)
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .float32(let v): return float(v)
        case .float64(let v): return double(v)
        case .bool(let v): return v ? "t" : "f"
        case .timestamptz(let d):
            guard let text = timestamp(d) else {
                throw PostgresError(.encoding, reason: "timestamp outside years 1 ... 9999 (or not finite) cannot be sent")
            }
            return text
        case .float32Array(let values):
            return "{" + values.map { $0.map(float) ?? "NULL" }.joined(separator: ",") + "}"
        }
    }

    static func typeOID(of value: PostgresValue) -> UInt32 {
        switch value {
        case .null: return 0
        case .text: return PostgresTypeOID.text
        case .int16: return PostgresTypeOID.int2
        case .int32: return PostgresTypeOID.int4
        case .int64: return PostgresTypeOID.int8
        case .float32: return PostgresTypeOID.float4
        case .float64: return PostgresTypeOID.float8
        case .bool: return PostgresTypeOID.bool
        case .bytea: return PostgresTypeOID.bytea
        case .timestamptz: return PostgresTypeOID.timestamptz
        case .jsonb: return PostgresTypeOID.jsonb
        case .float32Array: return PostgresTypeOID.float4Array
        case .other(let oid, _): return oid
        }
    }

    static func double(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Infinity" : "-Infinity" }
        return v.description // shortest text that round-trips
    }

    static func float(_ v: Float) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "Infinity" : "-Infinity" }
        return v.description
    }

    /// PostgreSQL's earliest timestamptz (4713-11-24 BC, 00:00 UTC) in microseconds since 1970.
    static let minimumMicroseconds: Int64 = -210_866_803_200_000_000

    /// Microseconds since 1970-01-01 UTC, rounded to the server's precision; nil when `date`
    /// is not finite or outside what PostgreSQL and Int64 can hold (a value from outside, such
    /// as a Kafka record's timestamp, must never reach a trapping conversion).
    static func microseconds(_ date: Date) -> Int64? {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        // 2^63 is exactly representable; every Double below it converts without trapping.
        guard micros.isFinite, micros >= Double(minimumMicroseconds), micros < 9_223_372_036_854_775_808.0 else { return nil }
        return Int64(micros)
    }

    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` for years 1...9999; nil outside them.
    static func timestamp(_ date: Date) -> String? {
        guard let micros = microseconds(date) else { return nil }
        let (days, dayMicros) = micros.floorDivided(by: 86_400_000_000)
        let (y, m, d) = civil(fromDays: days)
        guard (1...9999).contains(y) else { return nil }
        let seconds = dayMicros / 1_000_000
        let fraction = dayMicros % 1_000_000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))+00"
    }

    /// Parses ISO output: `2026-11-29 04:49:23.5+00`, offsets `+05:30`, `infinity`.
    static func parseTimestamp(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let bytes = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<digits {
                let b = bytes[i]
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int64(b - 48)
                i += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
              expect(32) || expect(84), let hour = number(2), expect(58), let minute = number(2),
              expect(58), let second = number(2) else { return nil }
        var micros: Int64 = 0
        if expect(46) {
            var scale: Int64 = 100_000
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                micros += Int64(bytes[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var offsetSeconds: Int64 = 0
        if i < bytes.count {
            let sign: Int64
            if expect(43) { sign = 1 } else if expect(45) { sign = -1 } else { return nil }
            guard let oh = number(2) else { return nil }
            var om: Int64 = 0, os: Int64 = 0
            if expect(58) { guard let v = number(2) else { return nil }; om = v }
            if expect(58) { guard let v = number(2) else { return nil }; os = v }
            offsetSeconds = sign * (oh * 3600 + om * 60 + os)
        }
        guard i == bytes.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let total = (days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) * 1_000_000 + micros
        return date(microseconds: total)
    }

    /// Decodes the server's text for a column of the given type.
    static func decode(_ text: String, typeOID: UInt32) throws -> PostgresValue {
        func fail() -> PostgresError {
            PostgresError(.decoding, reason: "cannot decode a value of type OID \(typeOID)")
        }
        switch typeOID {
        case PostgresTypeOID.text, PostgresTypeOID.varchar, PostgresTypeOID.bpchar, PostgresTypeOID.name,
             PostgresTypeOID.char, PostgresTypeOID.unknown:
            return .text(text)
        case PostgresTypeOID.int2: guard let v = Int16(text) else { throw fail() }; return .int16(v)
        case PostgresTypeOID.int4: guard let v = Int32(text) else { throw fail() }; return .int32(v)
        case PostgresTypeOID.int8: guard let v = Int64(text) else { throw fail() }; return .int64(v)
        case PostgresTypeOID.float4: guard let v = parseFloat(text) else { throw fail() }; return .float32(v)
        case PostgresTypeOID.float8: guard let v = parseDouble(text) else { throw fail() }; return .float64(v)
        case PostgresTypeOID.bool:
            switch text { case "t": return .bool(true); case "f": return .bool(false); default: throw fail() }
        case PostgresTypeOID.bytea: guard let v = parseHexBytea(text) else { throw fail() }; return .bytea(v)
        case PostgresTypeOID.timestamptz, PostgresTypeOID.timestamp:
            guard let v = parseTimestamp(text) else { throw fail() }; return .timestamptz(v)
        case PostgresTypeOID.jsonb, PostgresTypeOID.json: return .jsonb(text)
        case PostgresTypeOID.float4Array: guard let v = parseFloatArray(text) else { throw fail() }; return .float32Array(v)
        default: return .other(typeOID: typeOID, text: text)
        }
    }

    static func parseDouble(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }

    static func parseFloat(_ text: String) -> Float? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Float(text)
        }
    }

    /// `\x00ff...` (bytea_output = hex, the default since PostgreSQL 9.0).
    static func parseHexBytea(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == 92, bytes[1] == 120, bytes.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((bytes.count - 2) / 2)
        var i = 2
        while i < bytes.count {
            guard let hi = hexValue(bytes[i]), let lo = hexValue(bytes[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// `{1,NaN,NULL,-Infinity}`: one-dimensional float4 arrays (no quoting needed).
    static func parseFloatArray(_ text: String) -> [Float?]? {
        guard text.hasPrefix("{"), text.hasSuffix("}") else { return nil }
        let inner = text.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        var out: [Float?] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            if part == "NULL" { out.append(nil); continue }
            guard let v = parseFloat(String(part)) else { return nil }
            out.append(v)
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 97...102: return b - 87
        case 65...70: return b - 55
        default: return nil
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, m, d)
    }
}

extension Int64 {
    /// Quotient and non-negative remainder (floor division).
    func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let q = self / divisor, r = self % divisor
        return r < 0 ? (q - 1, r + divisor) : (q, r)
    }
}
