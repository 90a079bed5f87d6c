// Event time: RFC 3339 text or epoch milliseconds, both to milliseconds since the epoch (UTC).

public enum EventTimestamp {
    /// Latest accepted time: 9999-12-31T23:59:59.999Z.
    public static let maxMillis: Int64 = 253_402_300_799_999

    /// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Earliest accepted time: 1970-01-01T00:00:00Z.
    public static let minMillis: Int64 = 0

    /// Whether `millis` lies in the accepted range (1970-01-01 through 9999-12-31, UTC): the
    /// times the audit trail stores and partitions by, all well inside PostgreSQL's range.
    @inlinable
    public static func isInRange(_ millis: Int64) -> Bool { millis >= minMillis && millis <= maxMillis }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; returns nil when it is not RFC 3339 or
    /// lies outside `minMillis...maxMillis`.
    public static func parseRFC3339(_ text: Span<UInt8>) -> Int64? {
        guard let ms = parseRFC3339Unbounded(text), isInRange(ms) else { return nil }
        return ms
    }

    /// `parseRFC3339` of a string's UTF-8.
    public static func parseRFC3339(_ text: some StringProtocol) -> Int64? {
        parseRFC3339(String(text).utf8Span.span)
    }

    /// Like `parseRFC3339`, without the range check: a well-formed date-time before 1970 (or
    /// pushed past 9999 by its offset) comes back as it is, so callers can tell "out of range"
    /// from "not a date-time".
    public static func parseRFC3339Unbounded(_ text: Span<UInt8>) -> Int64? {
        let n = text.count
        guard n >= 20 else { return nil }
        func digits(_ at: Int, _ len: Int) -> Int? { decimal(text, at, len) }
        func byte(_ at: Int) -> UInt8 { text[at] }
        guard let year = digits(0, 4), byte(4) == UInt8(ascii: "-"), let month = digits(5, 2), byte(7) == UInt8(ascii: "-"),
              let day = digits(8, 2), byte(10) | 0x20 == UInt8(ascii: "t") || byte(10) == UInt8(ascii: " "),
              let hour = digits(11, 2), byte(13) == UInt8(ascii: ":"), let minute = digits(14, 2),
              byte(16) == UInt8(ascii: ":"), let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if byte(i) == UInt8(ascii: ".") {
            i += 1
            var place = 100
            let fracStart = i
            while i < n, byte(i) &- 48 < 10 {
                millis += Int(byte(i) &- 48) * place
                place /= 10
                i += 1
            }
            guard i > fracStart else { return nil }
        }
        guard i < n else { return nil }
        var offsetMinutes = 0
        if byte(i) | 0x20 == UInt8(ascii: "z") {
            i += 1
        } else if byte(i) == UInt8(ascii: "+") || byte(i) == UInt8(ascii: "-") {
            guard i + 6 <= n, let oh = digits(i + 1, 2), byte(i + 3) == UInt8(ascii: ":"), let om = digits(i + 4, 2),
                  oh < 24, om < 60
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (byte(i) == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        // A leap second (:60) is folded onto :59.999 so order is kept without a separate clock.
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetMinutes * 60)
        return secs * 1000 + Int64(second == 60 ? 999 : millis)
    }

    /// The decimal number in `text[at..<at + len]`; nil if a byte is not a digit.
    @inline(__always)
    private static func decimal(_ text: Span<UInt8>, _ at: Int, _ len: Int) -> Int? {
        var v = 0
        for i in at..<(at + len) {
            let d = text[i] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }

    /// Formats epoch milliseconds as RFC 3339 in UTC with milliseconds (`2026-11-29T04:40:03.120Z`).
    public static func formatRFC3339(_ millis: Int64) -> String {
        let (daysPart, msOfDay) = millis.quotientAndRemainder(dividingBy: 86_400_000)
        var days = Int(daysPart)
        var ms = Int(msOfDay)
        if ms < 0 { ms += 86_400_000; days -= 1 }
        // Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(ms / 3_600_000, 2)):\(pad(ms / 60000 % 60, 2)):\(pad(ms / 1000 % 60, 2)).\(pad(ms % 1000, 3))Z"
    }
}
