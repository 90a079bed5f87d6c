// Why an incoming event was rejected: the row that goes to the dead-letter table.

/// A rejected event: a machine code, the field at fault (when there is one), and a
/// human-readable reason suitable for the `dead_letters.reason` column.
public struct EventRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of problem. Stable raw values: they are stored in the dead-letter table.
    public enum Code: String, Sendable, CaseIterable {
        /// The payload is larger than `EventDecoderConfiguration.maxPayloadBytes`.
        case payloadTooLarge = "payload_too_large"
        /// The bytes are not valid UTF-8.
        case invalidUTF8 = "invalid_utf8"
        /// The bytes are not one well-formed JSON value (or the top level is not an object).
        case malformedJSON = "malformed_json"
        /// Objects or arrays nest deeper than `EventDecoderConfiguration.maxDepth`.
        case nestingTooDeep = "nesting_too_deep"
        /// A contract field (or a key under `features`) appears twice.
        case duplicateField = "duplicate_field"
        /// A required contract field is absent (or null).
        case missingField = "missing_field"
        /// A contract field has the wrong JSON type.
        case wrongType = "wrong_type"
        /// A number is NaN or infinite, or overflows a Double.
        case nonFiniteNumber = "non_finite_number"
        /// `amount` is negative. Zero is valid: verification authorisations carry no amount.
        case negativeAmount = "negative_amount"
        /// `ts` is neither RFC 3339 nor epoch milliseconds in a sane range.
        case invalidTimestamp = "invalid_timestamp"
        /// A field has the right type but a value outside the contract (empty id, unknown label).
        case invalidValue = "invalid_value"
        /// A text field holds U+0000 (the JSON escape `\u0000`), which PostgreSQL text cannot store.
        case nulCharacter = "nul_character"
        /// A well-formed time outside 1970-01-01 ... 9999-12-31 (UTC): the event's or label's
        /// `ts`, or the Kafka record's own timestamp, which keys the audit trail.
        case timestampOutOfRange = "timestamp_out_of_range"
        /// The Kafka message key is longer than `EventDecoderConfiguration.maxKeyBytes`.
        case keyTooLarge = "key_too_large"
        /// The Kafka message key (the card id by contract) is not valid UTF-8.
        case invalidKeyUTF8 = "invalid_key_utf8"
    }

    public let code: Code
    /// The contract field at fault, as a dotted path (`amount`, `features.velocity`), if any.
    public let field: String?
    /// What was wrong, in a few words.
    public let detail: String
    /// Byte offset in the payload where the problem was found.
    public let offset: Int

    public init(_ code: Code, field: String? = nil, _ detail: String, offset: Int = 0) {
        self.code = code
        self.field = field
        self.detail = detail
        self.offset = offset
    }

    /// The reason as stored in the dead-letter table, e.g. `wrong_type: amount: expected a number, got a string`.
    public var reason: String {
        if let field { return "\(code.rawValue): \(field): \(detail)" }
        return "\(code.rawValue): \(detail) (at byte \(offset))"
    }

    public var description: String { reason }
}
