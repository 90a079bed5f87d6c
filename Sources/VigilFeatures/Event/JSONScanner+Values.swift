// Numbers, literals and skipping of values the decoder does not use (still fully validated).

/// Exact powers of ten for the fast number path (Clinger): a mantissa below 2^53 times or
/// divided by one of these is correctly rounded.
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

extension JSONScanner {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    /// Scans a JSON number at `pos` and returns its value, correctly rounded. The value may be
    /// infinite (overflow) — callers decide whether that is acceptable for their field.
    mutating func scanNumber(_ bytes: Span<UInt8>, field: String?) throws(EventRejection) -> Double {
        let start = pos
        var negative = false
        if peek(bytes) == UInt8(ascii: "-") {
            negative = true
            pos += 1
            if peek(bytes) == UInt8(ascii: "I") {
                throw EventRejection(.nonFiniteNumber, field: field, "-Infinity is not a finite number", offset: start)
            }
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var truncated = false
        let first = peek(bytes)
        if first == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, Self.isDigit(bytes[pos]) { throw malformed("leading zeros are not allowed in numbers", field: field) }
        } else if Self.isDigit(first) {
            while pos < bytes.count, Self.isDigit(bytes[pos]) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[pos] &- 48)
                    digits += 1
                } else {
                    exponent += 1
                    truncated = true
                }
                pos += 1
            }
        } else {
            throw malformed("invalid number", field: field)
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, Self.isDigit(bytes[pos]) else { throw malformed("a digit must follow the decimal point", field: field) }
            while pos < bytes.count, Self.isDigit(bytes[pos]) {
                let d = bytes[pos] &- 48
                if mantissa == 0 && d == 0 {
                    exponent -= 1
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    digits += 1
                    exponent -= 1
                } else if d != 0 {
                    truncated = true
                }
                pos += 1
            }
        }
        if pos < bytes.count, bytes[pos] | 0x20 == UInt8(ascii: "e") {
            pos += 1
            var expNegative = false
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") || bytes[pos] == UInt8(ascii: "+") {
                expNegative = bytes[pos] == UInt8(ascii: "-")
                pos += 1
            }
            guard pos < bytes.count, Self.isDigit(bytes[pos]) else { throw malformed("an exponent needs digits", field: field) }
            var e = 0
            while pos < bytes.count, Self.isDigit(bytes[pos]) {
                // Clamp: anything this large already over- or underflows a Double.
                if e < 1_000_000 { e = e * 10 + Int(bytes[pos] &- 48) }
                pos += 1
            }
            exponent += expNegative ? -e : e
        }
        if mantissa == 0 && !truncated { return negative ? -0.0 : 0.0 }
        if !truncated && mantissa <= (1 << 53) && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        // Rare: long mantissas or large exponents go through the standard library's correctly
        // rounded parser (which returns ±inf on overflow and 0 on underflow).
        let text = Self.text(bytes.extracting(start..<pos))
        guard let value = Double(text) else { throw malformed("invalid number", field: field) }
        return value
    }

    /// Consumes `literal` (true, false, null) at `pos`.
    mutating func scanLiteral(_ bytes: Span<UInt8>, _ literal: String, field: String?) throws(EventRejection) {
        let expected = literal.utf8Span.span
        let n = expected.count
        guard pos + n <= bytes.count else { throw malformed("invalid literal", field: field) }
        for i in 0..<n where bytes[pos + i] != expected[i] {
            throw malformed("invalid literal", field: field)
        }
        pos += n
    }

    /// `NaN` and `Infinity` are not JSON, but producers emit them; name them precisely.
    func nonFiniteLiteral(_ bytes: Span<UInt8>, field: String?) -> EventRejection? {
        let b = peek(bytes)
        if b == UInt8(ascii: "N") || b == UInt8(ascii: "I") {
            return EventRejection(.nonFiniteNumber, field: field, "NaN and Infinity are not finite numbers", offset: pos)
        }
        return nil
    }

    /// Validates and skips any JSON value; `depth` is the nesting level of the value's container.
    mutating func skipValue(_ bytes: Span<UInt8>, depth: Int, field: String?) throws(EventRejection) {
        guard pos < bytes.count else { throw malformed("unexpected end of input, expected a value", field: field) }
        switch bytes[pos] {
        case UInt8(ascii: "\""):
            _ = try scanString(bytes, field: field)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber(bytes, field: field)
        case UInt8(ascii: "t"):
            try scanLiteral(bytes, "true", field: field)
        case UInt8(ascii: "f"):
            try scanLiteral(bytes, "false", field: field)
        case UInt8(ascii: "n"):
            try scanLiteral(bytes, "null", field: field)
        case UInt8(ascii: "{"):
            try skipContainer(bytes, close: UInt8(ascii: "}"), isObject: true, depth: depth + 1, field: field)
        case UInt8(ascii: "["):
            try skipContainer(bytes, close: UInt8(ascii: "]"), isObject: false, depth: depth + 1, field: field)
        default:
            if let rejection = nonFiniteLiteral(bytes, field: field) { throw rejection }
            throw malformed("expected a value, found \(describe(bytes[pos]))", field: field)
        }
    }

    private mutating func skipContainer(_ bytes: Span<UInt8>, close: UInt8, isObject: Bool, depth: Int, field: String?) throws(EventRejection) {
        guard depth <= maxDepth else {
            throw EventRejection(.nestingTooDeep, field: field, "nesting deeper than \(maxDepth) levels", offset: pos)
        }
        pos += 1
        skipWhitespace(bytes)
        if peek(bytes) == close { pos += 1; return }
        while true {
            skipWhitespace(bytes)
            if isObject {
                guard peek(bytes) == UInt8(ascii: "\"") else { throw malformed("expected a key string", field: field) }
                _ = try scanString(bytes, field: field)
                skipWhitespace(bytes)
                try expect(bytes, UInt8(ascii: ":"), "':'")
                skipWhitespace(bytes)
            }
            try skipValue(bytes, depth: depth, field: field)
            skipWhitespace(bytes)
            guard pos < bytes.count else { throw malformed("unterminated \(isObject ? "object" : "array")", field: field) }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == close { pos += 1; return }
            throw malformed("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(describe(bytes[pos]))", field: field)
        }
    }
}
