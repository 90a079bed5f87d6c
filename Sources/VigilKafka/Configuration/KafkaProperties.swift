// Raw librdkafka properties: the escape hatch for everything the typed settings
// do not cover (TLS, SASL, tuning). Values of secret-bearing keys never appear in
// descriptions, logs or error messages.

/// librdkafka configuration properties by name (see librdkafka's CONFIGURATION.md).
/// They are applied after the typed settings, so a raw property overrides a typed one.
public struct KafkaProperties: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    ExpressibleByDictionaryLiteral
{
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }
    public init(dictionaryLiteral elements: (String, String)...) {
        self.values = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    public subscript(key: String) -> String? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Keys whose values are credentials: passwords, private keys, OAuth secrets, JAAS configs.
    public static func isSecret(_ key: String) -> Bool {
        let key = key.lowercased()
        return key.contains("password") || key.contains("secret") || key.hasSuffix(".key.pem")
            || key == "ssl.key.pem" || key.contains("sasl.jaas") || key == "sasl.oauthbearer.config"
            || key.contains("private.key") || key.hasSuffix("credentials")
    }

    /// Sorted `key=value` pairs with secret values replaced by `[redacted]`.
    public var description: String {
        let pairs = values.keys.sorted().map { key in
            "\(key)=\(KafkaProperties.isSecret(key) ? "[redacted]" : values[key]!)"
        }
        return "[" + pairs.joined(separator: ", ") + "]"
    }

    public var debugDescription: String { description }
}
