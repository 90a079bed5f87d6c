// The one place Swift property maps become a librdkafka `rd_kafka_conf_t`.
import CRdKafka

enum RDKafkaConfiguration {
    /// A new `rd_kafka_conf_t` holding `properties`; the caller owns it (it passes to
    /// `rd_kafka_new`, or must be destroyed). Errors name the key but never echo the
    /// value of a secret key.
    static func make(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for key in properties.keys.sorted() {
            let value = properties[key]!
            if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = KafkaProperties.isSecret(key) ? "invalid value (redacted)" : cText(errstr)
                throw KafkaError(.invalidArgument, "configuration property \(key): \(reason)", isRetriable: false)
            }
        }
        return conf
    }
}

/// The text of a NUL-terminated error buffer librdkafka filled in.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
