// Decodes transaction and label events from raw Kafka payload bytes in one validating pass.
//
// Policy decisions (see docs/features.md):
// - Unknown fields are ignored, but they must still be well-formed JSON within the depth limit.
// - A contract field that appears twice is rejected (`duplicate_field`): parsers disagree on
//   which copy wins, and the audit trail must record the value that was actually scored.
//   Repeated unknown keys are ignored like the keys themselves.
// - `null` for an optional field means absent; `null` for a required field is `missing_field`.
// - Entity ids (`card_id`, `merchant_id`, `terminal_id`, `customer_id`, `mcc`) may be strings or
//   JSON integers (kept as their decimal text); `event_id` and `currency` must be strings.

/// The event decoder: stateless apart from its limits, so one value can be shared freely.
public struct EventDecoder: Sendable {
    public var configuration: EventDecoderConfiguration

    public init(configuration: EventDecoderConfiguration = EventDecoderConfiguration()) {
        self.configuration = configuration
    }

    /// Contract field names, in the order missing fields are reported.
    enum Field: Int, CaseIterable {
        case eventID, ts, cardID, merchantID, amount, currency, mcc, country, channel, terminalID, customerID, features

        /// String constants are immortal, so handing them out costs no allocation or refcount.
        static let labels = ["event_id", "ts", "card_id", "merchant_id", "amount", "currency", "mcc", "country", "channel", "terminal_id", "customer_id", "features"]
        static let all = Field.allCases
        static let required = Array(Field.allCases[0...Field.currency.rawValue])

        var label: String { Self.labels[rawValue] }

        /// The name's bytes as two little-endian words, zero past its end: a key is matched to
        /// its candidate field with one comparison. `EventDecoderTests` checks these against `label`.
        var packedName: (UInt64, UInt64) {
            switch self {
            case .eventID: (0x6469_5F74_6E65_7665, 0)
            case .ts: (0x7374, 0)
            case .cardID: (0x0064_695F_6472_6163, 0)
            case .merchantID: (0x746E_6168_6372_656D, 0x64_695F)
            case .amount: (0x746E_756F_6D61, 0)
            case .currency: (0x7963_6E65_7272_7563, 0)
            case .mcc: (0x63_636D, 0)
            case .country: (0x0079_7274_6E75_6F63, 0)
            case .channel: (0x006C_656E_6E61_6863, 0)
            case .terminalID: (0x6C61_6E69_6D72_6574, 0x64_695F)
            case .customerID: (0x7265_6D6F_7473_7563, 0x64_695F)
            case .features: (0x7365_7275_7461_6566, 0)
            }
        }

        /// Bytes `start..<end` of `bytes` (at most 16) as two little-endian words, zero past `end`.
        @inline(__always)
        static func pack(_ bytes: Span<UInt8>, _ start: Int, _ end: Int) -> (UInt64, UInt64) {
            let length = end - start
            guard length <= 16 else { return (~0, ~0) }
            if start + 16 <= bytes.count {
                // Every bit pattern is a valid UInt64, and the loads are bounds-checked.
                let lo = UInt64(littleEndian: bytes.bytes.unsafeLoadUnaligned(fromByteOffset: start, as: UInt64.self))
                let hi = UInt64(littleEndian: bytes.bytes.unsafeLoadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
                let loMask: UInt64 = length >= 8 ? ~0 : (1 << (8 * length)) &- 1
                let hiMask: UInt64 = length >= 16 ? ~0 : length <= 8 ? 0 : (1 << (8 * (length - 8))) &- 1
                return (lo & loMask, hi & hiMask)
            }
            var lo: UInt64 = 0, hi: UInt64 = 0
            for i in 0..<length {
                if i < 8 { lo |= UInt64(bytes[start + i]) << (8 * i) } else { hi |= UInt64(bytes[start + i]) << (8 * (i - 8)) }
            }
            return (lo, hi)
        }
    }

    /// Decodes one transaction event or throws the reason it must go to the dead-letter table.
    /// Decodes one transaction event from a span of bytes (a line of a mapped file).
    public func decode(_ bytes: Span<UInt8>) throws(EventRejection) -> TransactionEvent {
        var scanner = try open(bytes)
        var seen: UInt32 = 0
        var eventID = "", cardID = "", merchantID = "", currency = ""
        var ts: Int64 = 0
        var amount = 0.0
        var mcc: String?, country: String?, channel: String?, terminalID: String?, customerID: String?
        var extras: [ExtraFeature] = []

        try forEachMember(&scanner, bytes) { (scanner: inout JSONScanner, key: StringToken) throws(EventRejection) in
            guard let field = Self.match(bytes, key, scanner) else {
                try scanner.skipValue(bytes, depth: 1, field: nil)
                return
            }
            let bit = UInt32(1) << field.rawValue
            guard seen & bit == 0 else {
                throw EventRejection(.duplicateField, field: field.label, "appears more than once", offset: key.start)
            }
            if scanner.peek(bytes) == UInt8(ascii: "n") {
                try scanner.scanLiteral(bytes, "null", field: field.label)
                return // absent; required fields are checked below
            }
            seen |= bit
            switch field {
            case .eventID: eventID = try Self.string(&scanner, bytes, field.label)
            case .currency: currency = try Self.string(&scanner, bytes, field.label)
            case .country: country = try Self.string(&scanner, bytes, field.label)
            case .channel: channel = try Self.string(&scanner, bytes, field.label)
            case .cardID: cardID = try Self.identifier(&scanner, bytes, field.label)
            case .merchantID: merchantID = try Self.identifier(&scanner, bytes, field.label)
            case .terminalID: terminalID = try Self.identifier(&scanner, bytes, field.label)
            case .customerID: customerID = try Self.identifier(&scanner, bytes, field.label)
            case .mcc: mcc = try Self.identifier(&scanner, bytes, field.label)
            case .ts: ts = try Self.timestamp(&scanner, bytes)
            case .amount:
                let start = scanner.pos
                amount = try Self.finiteNumber(&scanner, bytes, field: "amount")
                guard amount >= 0 else {
                    throw EventRejection(.negativeAmount, field: "amount", "must not be negative, got \(amount)", offset: start)
                }
                // `-0` (or a negative underflow such as `-1e-400`) is a zero amount: stored and
                // shown as 0, not as "-0", in decisions and features.
                if amount == 0 { amount = 0 }
            case .features: extras = try features(&scanner, bytes)
            }
        }
        if seen & 0x3F != 0x3F {
            for field in Field.required where seen & (1 << field.rawValue) == 0 {
                throw EventRejection(.missingField, field: field.label, "is required", offset: scanner.pos)
            }
        }
        if eventID.isEmpty { throw EventRejection(.invalidValue, field: "event_id", "must not be empty") }
        if cardID.isEmpty { throw EventRejection(.invalidValue, field: "card_id", "must not be empty") }
        if merchantID.isEmpty { throw EventRejection(.invalidValue, field: "merchant_id", "must not be empty") }
        if currency.isEmpty { throw EventRejection(.invalidValue, field: "currency", "must not be empty") }
        return TransactionEvent(
            eventID: eventID, timestampMillis: ts, cardID: cardID, merchantID: merchantID, amount: amount,
            currency: currency, mcc: mcc, country: country, channel: channel, terminalID: terminalID,
            customerID: customerID, extraFeatures: extras)
    }

    /// Decodes one transaction event from an array of bytes.
    public func decode(_ bytes: [UInt8]) throws(EventRejection) -> TransactionEvent {
        try decode(bytes.span)
    }

    /// Decodes one transaction event from a slice of bytes (a Kafka message's value).
    public func decode(_ bytes: ArraySlice<UInt8>) throws(EventRejection) -> TransactionEvent {
        try decode(bytes.span)
    }

    /// Decodes one label event (`event_id`, `label` = fraud|legit, `ts`).
    public func decodeLabel(_ bytes: Span<UInt8>) throws(EventRejection) -> LabelEvent {
        var scanner = try open(bytes)
        var eventID: String?, label: String?
        var ts: Int64?
        try forEachMember(&scanner, bytes) { (scanner: inout JSONScanner, key: StringToken) throws(EventRejection) in
            let name = scanner.string(bytes, key)
            guard name == "event_id" || name == "label" || name == "ts" else {
                try scanner.skipValue(bytes, depth: 1, field: nil)
                return
            }
            let already = name == "event_id" ? eventID != nil : name == "label" ? label != nil : ts != nil
            guard !already else { throw EventRejection(.duplicateField, field: name, "appears more than once", offset: key.start) }
            if scanner.peek(bytes) == UInt8(ascii: "n") {
                try scanner.scanLiteral(bytes, "null", field: name)
                return
            }
            switch name {
            case "event_id": eventID = try Self.string(&scanner, bytes, "event_id")
            case "label": label = try Self.string(&scanner, bytes, "label")
            default: ts = try Self.timestamp(&scanner, bytes)
            }
        }
        guard let eventID else { throw EventRejection(.missingField, field: "event_id", "is required") }
        guard let label else { throw EventRejection(.missingField, field: "label", "is required") }
        guard let ts else { throw EventRejection(.missingField, field: "ts", "is required") }
        guard !eventID.isEmpty else { throw EventRejection(.invalidValue, field: "event_id", "must not be empty") }
        guard label == "fraud" || label == "legit" else {
            throw EventRejection(.invalidValue, field: "label", "must be \"fraud\" or \"legit\"")
        }
        return LabelEvent(eventID: eventID, isFraud: label == "fraud", timestampMillis: ts)
    }

    /// Decodes one label event from an array of bytes.
    public func decodeLabel(_ bytes: [UInt8]) throws(EventRejection) -> LabelEvent {
        try decodeLabel(bytes.span)
    }

    /// Decodes one label event from a slice of bytes (a Kafka message's value).
    public func decodeLabel(_ bytes: ArraySlice<UInt8>) throws(EventRejection) -> LabelEvent {
        try decodeLabel(bytes.span)
    }

    // MARK: Structure

    private func open(_ bytes: Span<UInt8>) throws(EventRejection) -> JSONScanner {
        guard bytes.count <= configuration.maxPayloadBytes else {
            throw EventRejection(.payloadTooLarge, "payload of \(bytes.count) bytes exceeds the limit of \(configuration.maxPayloadBytes)")
        }
        var scanner = JSONScanner(maxDepth: configuration.maxDepth)
        scanner.skipWhitespace(bytes)
        guard scanner.peek(bytes) == UInt8(ascii: "{") else {
            if scanner.atEnd(bytes) { throw EventRejection(.malformedJSON, "empty payload") }
            throw EventRejection(.malformedJSON, "the event must be a JSON object", offset: scanner.pos)
        }
        return scanner
    }

    /// Walks the members of the top-level object, then checks nothing follows it.
    private func forEachMember(
        _ scanner: inout JSONScanner,
        _ bytes: Span<UInt8>,
        _ body: (inout JSONScanner, StringToken) throws(EventRejection) -> Void
    ) throws(EventRejection) {
        scanner.pos += 1
        scanner.skipWhitespace(bytes)
        if scanner.peek(bytes) == UInt8(ascii: "}") {
            scanner.pos += 1
        } else {
            while true {
                scanner.skipWhitespace(bytes)
                guard scanner.peek(bytes) == UInt8(ascii: "\"") else { throw scanner.malformed("expected a key string") }
                let key = try scanner.scanString(bytes, field: nil)
                scanner.skipWhitespace(bytes)
                try scanner.expect(bytes, UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace(bytes)
                try body(&scanner, key)
                scanner.skipWhitespace(bytes)
                guard !scanner.atEnd(bytes) else { throw scanner.malformed("unterminated object") }
                let b = bytes[scanner.pos]
                scanner.pos += 1
                if b == UInt8(ascii: ",") { continue }
                if b == UInt8(ascii: "}") { break }
                scanner.pos -= 1
                throw scanner.malformed("expected ',' or '}', found \(scanner.describe(b))")
            }
        }
        scanner.skipWhitespace(bytes)
        guard scanner.atEnd(bytes) else { throw scanner.malformed("unexpected data after the event object") }
    }

    private static func match(_ bytes: Span<UInt8>, _ key: StringToken, _ scanner: JSONScanner) -> Field? {
        if key.hasEscapes {
            let name = scanner.string(bytes, key)
            return Field.all.first { $0.label == name }
        }
        // Dispatch on length and first byte to the one candidate, then compare it in full.
        let length = key.end - key.start
        guard length >= 2 else { return nil }
        let first = bytes[key.start]
        let candidate: Field?
        switch (length, first) {
        case (2, UInt8(ascii: "t")): candidate = .ts
        case (3, UInt8(ascii: "m")): candidate = .mcc
        case (6, UInt8(ascii: "a")): candidate = .amount
        case (7, UInt8(ascii: "c")):
            switch bytes[key.start + 2] {
            case UInt8(ascii: "r"): candidate = .cardID
            case UInt8(ascii: "u"): candidate = .country
            default: candidate = .channel
            }
        case (8, UInt8(ascii: "e")): candidate = .eventID
        case (8, UInt8(ascii: "c")): candidate = .currency
        case (8, UInt8(ascii: "f")): candidate = .features
        case (11, UInt8(ascii: "m")): candidate = .merchantID
        case (11, UInt8(ascii: "t")): candidate = .terminalID
        case (11, UInt8(ascii: "c")): candidate = .customerID
        default: candidate = nil
        }
        guard let candidate else { return nil }
        return Field.pack(bytes, key.start, key.end) == candidate.packedName ? candidate : nil
    }
}
