// A single-pass, validating JSON scanner over raw UTF-8 bytes. It checks the full grammar
// (RFC 8259), UTF-8 inside strings, escapes and surrogate pairs, and nesting depth, and
// reports problems as `EventRejection`s. The event decoder drives it field by field, so
// nothing is materialised except the contract fields themselves.

/// A string's location in the payload; `hasEscapes` means the raw bytes must be unescaped.
struct StringToken {
    var start: Int
    var end: Int
    var hasEscapes: Bool
}

/// The scanner's state is its position; the payload is borrowed by each call as a `Span`,
/// so the scanner itself stays an ordinary (escapable) value and holds no pointer.
struct JSONScanner {
    let maxDepth: Int
    var pos = 0

    init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    @inline(__always) func atEnd(_ bytes: Span<UInt8>) -> Bool { pos >= bytes.count }

    @inline(__always) func peek(_ bytes: Span<UInt8>) -> UInt8 { pos < bytes.count ? bytes[pos] : 0 }

    @inline(__always) mutating func skipWhitespace(_ bytes: Span<UInt8>) {
        while pos < bytes.count {
            let b = bytes[pos]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            pos += 1
        }
    }

    func malformed(_ detail: String, field: String? = nil) -> EventRejection {
        EventRejection(.malformedJSON, field: field, detail, offset: pos)
    }

    @inline(__always) mutating func expect(_ bytes: Span<UInt8>, _ byte: UInt8, _ what: String) throws(EventRejection) {
        guard pos < bytes.count else { throw malformed("unexpected end of input, expected \(what)") }
        guard bytes[pos] == byte else { throw malformed("expected \(what), found \(describe(bytes[pos]))") }
        pos += 1
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16))"
    }

    /// Whether the next byte can start a JSON value.
    func startsValue(_ bytes: Span<UInt8>) -> Bool { typeName(bytes) != Self.invalidValue }

    static let invalidValue = "an invalid value"

    /// The JSON type that starts at `pos`, for wrong-type messages.
    func typeName(_ bytes: Span<UInt8>) -> String {
        switch peek(bytes) {
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return "a number"
        default: return Self.invalidValue
        }
    }

    // MARK: Strings

    /// Scans a string starting at the opening quote; validates UTF-8 and escapes.
    mutating func scanString(_ bytes: Span<UInt8>, field: String?) throws(EventRejection) -> StringToken {
        pos += 1
        let start = pos
        var escapes = false
        while true {
            // Eight plain ASCII bytes at a time (SWAR): no quote, backslash, control or non-ASCII byte.
            while pos + 8 <= bytes.count {
                // Every bit pattern is a valid UInt64, and the load is bounds-checked.
                let w = UInt64(littleEndian: bytes.bytes.unsafeLoadUnaligned(fromByteOffset: pos, as: UInt64.self))
                let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (w &- ones &* 0x20) | w
                guard special & highs == 0 else { break }
                pos += 8
            }
            guard pos < bytes.count else { throw malformed("unterminated string", field: field) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: pos, hasEscapes: escapes)
                pos += 1
                return token
            }
            if b == UInt8(ascii: "\\") {
                escapes = true
                try scanEscape(bytes, field: field)
            } else if b < 0x20 {
                throw malformed("unescaped control character in string", field: field)
            } else if b < 0x80 {
                pos += 1
            } else {
                try scanMultibyte(bytes, field: field)
            }
        }
    }

    private mutating func scanEscape(_ bytes: Span<UInt8>, field: String?) throws(EventRejection) {
        guard pos + 1 < bytes.count else { throw malformed("unterminated escape", field: field) }
        switch bytes[pos + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
             UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "u"):
            let unit = try hex4(bytes, at: pos + 2, field: field)
            pos += 6
            if unit >= 0xDC00 && unit <= 0xDFFF {
                throw EventRejection(.invalidUTF8, field: field, "lone low surrogate escape", offset: pos)
            }
            if unit >= 0xD800 && unit <= 0xDBFF {
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw EventRejection(.invalidUTF8, field: field, "high surrogate escape without its low half", offset: pos)
                }
                let low = try hex4(bytes, at: pos + 2, field: field)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw EventRejection(.invalidUTF8, field: field, "high surrogate escape without its low half", offset: pos)
                }
                pos += 6
            }
        default:
            throw malformed("invalid escape sequence", field: field)
        }
    }

    private func hex4(_ bytes: Span<UInt8>, at index: Int, field: String?) throws(EventRejection) -> UInt32 {
        guard index + 4 <= bytes.count else { throw malformed("truncated \\u escape", field: field) }
        var value: UInt32 = 0
        for i in index..<(index + 4) {
            let b = bytes[i]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw malformed("invalid hex digit in \\u escape", field: field)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func scanMultibyte(_ bytes: Span<UInt8>, field: String?) throws(EventRejection) {
        let b0 = bytes[pos]
        var need: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: throw EventRejection(.invalidUTF8, field: field, "invalid UTF-8 lead byte 0x\(String(b0, radix: 16))", offset: pos)
        }
        guard pos + need < bytes.count else {
            throw EventRejection(.invalidUTF8, field: field, "truncated UTF-8 sequence", offset: pos)
        }
        var i = pos + 1
        while need > 0 {
            let b = bytes[i]
            guard b >= lo && b <= hi else {
                throw EventRejection(.invalidUTF8, field: field, "invalid UTF-8 continuation byte", offset: i)
            }
            lo = 0x80
            hi = 0xBF
            i += 1
            need -= 1
        }
        pos = i
    }

    /// The string's content as bytes with escapes resolved (only called when `hasEscapes`).
    func unescaped(_ bytes: Span<UInt8>, _ token: StringToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.end - token.start)
        var i = token.start
        while i < token.end {
            let b = bytes[i]
            guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
            let e = bytes[i + 1]
            switch e {
            case UInt8(ascii: "b"): out.append(0x08); i += 2
            case UInt8(ascii: "f"): out.append(0x0C); i += 2
            case UInt8(ascii: "n"): out.append(0x0A); i += 2
            case UInt8(ascii: "r"): out.append(0x0D); i += 2
            case UInt8(ascii: "t"): out.append(0x09); i += 2
            case UInt8(ascii: "u"):
                // Already validated by scanEscape, so the digits and surrogate pairing are sound.
                var scalar = (try? hex4(bytes, at: i + 2, field: nil)) ?? 0xFFFD
                i += 6
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = (try? hex4(bytes, at: i + 2, field: nil)) ?? 0xDC00
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                out.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")!)
            default: out.append(e); i += 2
            }
        }
        return out
    }

    /// The string's content as a Swift String.
    func string(_ bytes: Span<UInt8>, _ token: StringToken) -> String {
        if token.hasEscapes { return String(decoding: unescaped(bytes, token), as: UTF8.self) }
        return Self.text(bytes.extracting(token.start..<token.end))
    }

    /// The text of bytes the scanner has validated as UTF-8 (invalid bytes would be repaired).
    static func text(_ bytes: Span<UInt8>) -> String {
        if let utf8 = try? UTF8Span(validating: bytes) { return String(copying: utf8) }
        var copy: [UInt8] = []
        copy.reserveCapacity(bytes.count)
        for i in bytes.indices { copy.append(bytes[i]) }
        return String(decoding: copy, as: UTF8.self)
    }

    /// Stable hash of the string's content.
    func hash(_ bytes: Span<UInt8>, _ token: StringToken) -> UInt64 {
        if token.hasEscapes { return StableHash.hash(unescaped(bytes, token)) }
        var state = StableHash.offsetBasis
        for i in token.start..<token.end { state = StableHash.step(state, bytes[i]) }
        return StableHash.finalize(state)
    }
}
