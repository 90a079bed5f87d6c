// Typed readers for the contract's fields: each checks the JSON type and the value's rules.

extension EventDecoder {
    /// The field's value is of another JSON type; or it is no JSON value at all (the payload
    /// ends after the colon, a stray byte), which makes the payload malformed, not mistyped.
    static func wrongType(_ scanner: JSONScanner, _ bytes: Span<UInt8>, _ field: String, expected: String) -> EventRejection {
        guard scanner.startsValue(bytes) else {
            return EventRejection(.malformedJSON, field: field, "expected \(expected), got \(scanner.pos < bytes.count ? "an invalid value" : "the end of the payload")",
                                  offset: scanner.pos)
        }
        return EventRejection(.wrongType, field: field, "expected \(expected), got \(scanner.typeName(bytes))", offset: scanner.pos)
    }

    static func string(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>, _ field: String) throws(EventRejection) -> String {
        guard scanner.peek(bytes) == UInt8(ascii: "\"") else { throw wrongType(scanner, bytes, field, expected: "a string") }
        let token = try scanner.scanString(bytes, field: field)
        return try text(scanner, bytes, token, field)
    }

    /// A scanned string's text. U+0000 can only arrive as the escape `\u0000` (a raw NUL byte
    /// is an unescaped control character, already malformed JSON), so only escaped strings
    /// are searched; PostgreSQL's text type cannot hold it, so it is refused here, at decode
    /// time, rather than by the database at commit.
    static func text(_ scanner: JSONScanner, _ bytes: Span<UInt8>, _ token: StringToken, _ field: String) throws(EventRejection) -> String {
        guard token.hasEscapes else { return scanner.string(bytes, token) }
        let bytes = scanner.unescaped(bytes, token)
        guard !bytes.contains(0) else {
            throw EventRejection(.nulCharacter, field: field, "contains U+0000, which text columns cannot store", offset: token.start)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A string, or a JSON integer kept as its decimal text (ids are often numeric upstream).
    static func identifier(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>, _ field: String) throws(EventRejection) -> String {
        let b = scanner.peek(bytes)
        if b == UInt8(ascii: "\"") {
            let token = try scanner.scanString(bytes, field: field)
            return try text(scanner, bytes, token, field)
        }
        guard b == UInt8(ascii: "-") || JSONScanner.isDigit(b) else {
            throw wrongType(scanner, bytes, field, expected: "a string or an integer")
        }
        let start = scanner.pos
        _ = try scanner.scanNumber(bytes, field: field)
        let raw = bytes.extracting(start..<scanner.pos)
        for i in raw.indices where !JSONScanner.isDigit(raw[i]) && raw[i] != UInt8(ascii: "-") {
            throw EventRejection(.wrongType, field: field, "expected a string or an integer, got a fractional number", offset: start)
        }
        return JSONScanner.text(raw)
    }

    static func finiteNumber(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>, field: String) throws(EventRejection) -> Double {
        let b = scanner.peek(bytes)
        guard b == UInt8(ascii: "-") || JSONScanner.isDigit(b) else {
            if let rejection = scanner.nonFiniteLiteral(bytes, field: field) { throw rejection }
            throw wrongType(scanner, bytes, field, expected: "a number")
        }
        let start = scanner.pos
        let value = try scanner.scanNumber(bytes, field: field)
        guard value.isFinite else {
            throw EventRejection(.nonFiniteNumber, field: field, "overflows to infinity", offset: start)
        }
        return value
    }

    /// `ts`: RFC 3339 text or epoch milliseconds (a JSON number; fractions are truncated).
    /// Malformed text is `invalid_timestamp`; a well-formed time outside 1970 ... 9999 is
    /// `timestamp_out_of_range`.
    static func timestamp(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>) throws(EventRejection) -> Int64 {
        let start = scanner.pos
        if scanner.peek(bytes) == UInt8(ascii: "\"") {
            let token = try scanner.scanString(bytes, field: "ts")
            let parsed: Int64? = token.hasEscapes
                ? EventTimestamp.parseRFC3339Unbounded(scanner.unescaped(bytes, token).span)
                : EventTimestamp.parseRFC3339Unbounded(bytes.extracting(token.start..<token.end))
            guard let parsed else {
                throw EventRejection(.invalidTimestamp, field: "ts", "not an RFC 3339 date-time with a zone (e.g. 2026-01-31T12:00:00Z)", offset: start)
            }
            guard EventTimestamp.isInRange(parsed) else {
                throw EventRejection(.timestampOutOfRange, field: "ts", "outside 1970-01-01 ... 9999-12-31 (UTC)", offset: start)
            }
            return parsed
        }
        let ms = try finiteNumber(&scanner, bytes, field: "ts")
        // Compared as a Double before any conversion: Int64(ms) would trap beyond Int64's range.
        guard ms >= Double(EventTimestamp.minMillis), ms <= Double(EventTimestamp.maxMillis) else {
            throw EventRejection(.timestampOutOfRange, field: "ts", "epoch milliseconds outside 0 ... 253402300799999 (1970 ... 9999)", offset: start)
        }
        return Int64(ms)
    }

    /// The `features` object: numeric values only, keys kept as stable hashes.
    func features(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>) throws(EventRejection) -> [ExtraFeature] {
        guard scanner.peek(bytes) == UInt8(ascii: "{") else { throw Self.wrongType(scanner, bytes, "features", expected: "an object") }
        guard configuration.maxDepth >= 2 else {
            throw EventRejection(.nestingTooDeep, field: "features", "nesting deeper than \(configuration.maxDepth) levels", offset: scanner.pos)
        }
        var extras: [ExtraFeature] = []
        scanner.pos += 1
        scanner.skipWhitespace(bytes)
        if scanner.peek(bytes) == UInt8(ascii: "}") { scanner.pos += 1; return extras }
        while true {
            scanner.skipWhitespace(bytes)
            guard scanner.peek(bytes) == UInt8(ascii: "\"") else { throw scanner.malformed("expected a key string", field: "features") }
            let key = try scanner.scanString(bytes, field: "features")
            let hash = scanner.hash(bytes, key)
            scanner.skipWhitespace(bytes)
            try scanner.expect(bytes, UInt8(ascii: ":"), "':'")
            scanner.skipWhitespace(bytes)
            let isNull = scanner.peek(bytes) == UInt8(ascii: "n")
            if extras.contains(where: { $0.keyHash == hash }) {
                throw EventRejection(.duplicateField, field: "features." + scanner.string(bytes, key), "appears more than once", offset: key.start)
            }
            if isNull {
                try scanner.scanLiteral(bytes, "null", field: "features")
            } else {
                let b = scanner.peek(bytes)
                if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "t") || b == UInt8(ascii: "f") {
                    throw Self.wrongType(scanner, bytes, "features." + scanner.string(bytes, key), expected: "a number")
                }
                let value = try Self.finiteNumberNamed(&scanner, bytes, key: key)
                guard extras.count < configuration.maxExtraFeatures else {
                    throw EventRejection(.invalidValue, field: "features", "more than \(configuration.maxExtraFeatures) keys", offset: key.start)
                }
                extras.append(ExtraFeature(keyHash: hash, value: value))
            }
            scanner.skipWhitespace(bytes)
            guard !scanner.atEnd(bytes) else { throw scanner.malformed("unterminated object", field: "features") }
            let b = bytes[scanner.pos]
            scanner.pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { return extras }
            scanner.pos -= 1
            throw scanner.malformed("expected ',' or '}', found \(scanner.describe(b))", field: "features")
        }
    }

    /// Like `finiteNumber`, but the field path (`features.<key>`) is only built on failure.
    private static func finiteNumberNamed(_ scanner: inout JSONScanner, _ bytes: Span<UInt8>, key: StringToken) throws(EventRejection) -> Double {
        let b = scanner.peek(bytes)
        guard b == UInt8(ascii: "-") || JSONScanner.isDigit(b) else {
            let name = "features." + scanner.string(bytes, key)
            if let rejection = scanner.nonFiniteLiteral(bytes, field: name) { throw rejection }
            throw wrongType(scanner, bytes, name, expected: "a number")
        }
        let start = scanner.pos
        let value: Double
        do {
            value = try scanner.scanNumber(bytes, field: nil)
        } catch {
            throw EventRejection(error.code, field: "features." + scanner.string(bytes, key), error.detail, offset: error.offset)
        }
        guard value.isFinite else {
            throw EventRejection(.nonFiniteNumber, field: "features." + scanner.string(bytes, key), "overflows to infinity", offset: start)
        }
        return value
    }
}
