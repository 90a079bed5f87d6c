// Poison for fault drills (`vigil gen --poison-rate`): messages of every class the decoder
// must refuse, made from a real transaction or label so each one is unique. `tools/chaos`
// checks that every one of them becomes exactly one dead letter with its reason code, and
// that nothing else stops.
import VigilKafka

public enum PoisonMessages {
    /// The classes, one reason code each (the code its dead letter must carry).
    public static let transactionClasses = [
        "malformed_json", "missing_field", "wrong_type", "non_finite_number", "negative_amount", "invalid_timestamp",
        "timestamp_out_of_range", "nul_character", "duplicate_field", "invalid_utf8", "payload_too_large", "nesting_too_deep",
        "key_too_large", "invalid_key_utf8", "record_timestamp_out_of_range",
    ]
    public static let labelClasses = ["invalid_value", "nul_character", "timestamp_out_of_range", "missing_field"]

    /// Poison number `index` made from `tx` (class `index % classes`).
    public static func transaction(_ tx: SimulatedTransaction, index: Int, topic: String) -> KafkaProducerMessage {
        let id = "poison-\(index)-\(tx.eventID)"
        let key = Array(tx.cardID.utf8)
        func event(_ fields: String) -> [UInt8] { Array("{\"event_id\":\"\(id)\",\(fields)}".utf8) }
        let valid = #""ts":1772368200000,"card_id":"\#(tx.cardID)","merchant_id":"\#(tx.merchantID)","amount":12.5,"currency":"EUR""#
        switch transactionClasses[index % transactionClasses.count] {
        case "malformed_json":
            return KafkaProducerMessage(topic: topic, key: key, value: Array("{\"event_id\":\"\(id)\" \"ts\" 1".utf8))
        case "missing_field":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":1772368200000,"card_id":"c","merchant_id":"m","currency":"EUR""#))
        case "wrong_type":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":1772368200000,"card_id":"c","merchant_id":"m","amount":"12","currency":"EUR""#))
        case "non_finite_number":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":1772368200000,"card_id":"c","merchant_id":"m","amount":1e999,"currency":"EUR""#))
        case "negative_amount":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":1772368200000,"card_id":"c","merchant_id":"m","amount":-3,"currency":"EUR""#))
        case "invalid_timestamp":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":"yesterday","card_id":"c","merchant_id":"m","amount":3,"currency":"EUR""#))
        case "timestamp_out_of_range":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":"1969-12-31T23:59:59Z","card_id":"c","merchant_id":"m","amount":3,"currency":"EUR""#))
        case "nul_character":
            return KafkaProducerMessage(topic: topic, key: key, value: event(#""ts":1772368200000,"card_id":"c\u0000","merchant_id":"m","amount":3,"currency":"EUR""#))
        case "duplicate_field":
            return KafkaProducerMessage(topic: topic, key: key, value: event(valid + #","amount":4"#))
        case "invalid_utf8":
            return KafkaProducerMessage(topic: topic, key: key, value: Array("{\"event_id\":\"\(id)\",\"card_id\":\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8))
        case "payload_too_large":
            return KafkaProducerMessage(topic: topic, key: key, value: event(valid + ",\"pad\":\"" + String(repeating: "a", count: 70_000) + "\""))
        case "nesting_too_deep":
            return KafkaProducerMessage(topic: topic, key: key, value: event(valid + ",\"x\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 40)))
        case "key_too_large":
            return KafkaProducerMessage(topic: topic, key: [UInt8](repeating: 0x6B, count: 4_096), value: event(valid))
        case "invalid_key_utf8":
            return KafkaProducerMessage(topic: topic, key: [0x63, 0xC0, 0xAF], value: event(valid))
        default:  // record_timestamp_out_of_range: the Kafka record's own timestamp (dead letter code timestamp_out_of_range)
            return KafkaProducerMessage(topic: topic, key: key, value: event(valid), timestampMilliseconds: 9_300_000_000_000_000)
        }
    }

    public static func label(_ label: SimulatedLabel, index: Int, topic: String) -> KafkaProducerMessage {
        let id = "poison-\(index)-\(label.eventID)"
        let value: String
        switch labelClasses[index % labelClasses.count] {
        case "invalid_value": value = #"{"event_id":"\#(id)","label":"maybe","ts":1772368200000}"#
        case "nul_character": value = #"{"event_id":"\#(id)\u0000","label":"fraud","ts":1772368200000}"#
        case "timestamp_out_of_range": value = #"{"event_id":"\#(id)","label":"fraud","ts":-5}"#
        default: value = #"{"event_id":"\#(id)","ts":1772368200000}"#
        }
        return KafkaProducerMessage(topic: topic, key: Array(id.utf8), value: Array(value.utf8))
    }
}
