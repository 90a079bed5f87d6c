// The one error type of VigilKafka. Codes are librdkafka's response-code values
// (broker error codes are >= 0, client-side ones are negative), so every
// librdkafka error maps without a table. The named constants, the symbolic names
// and the retriable set come from the C headers, so they live with the other C
// calls in RDKafka/KafkaError+RDKafka.swift.

public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// A librdkafka error code. Extensible: unknown values keep their number.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The librdkafka response-code value.
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
    }

    public var code: Code
    /// librdkafka's explanation plus what Vigil was doing. Never contains message payloads or secrets.
    public var message: String
    /// The operation may succeed if tried again later (the client recovers by itself).
    public var isRetriable: Bool
    /// The client instance is unusable (librdkafka raised a fatal error, e.g. idempotence
    /// broken or fenced): close it and make a new one.
    public var isFatal: Bool
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, isRetriable: Bool? = nil, isFatal: Bool = false,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? code.isRetriableByDefault
        self.isFatal = isFatal || code == .fatal
        self.file = file
        self.line = line
    }

    public var description: String {
        "KafkaError(\(code)\(isFatal ? ", fatal" : "")\(isRetriable ? ", retriable" : "")): \(message) [\(file):\(line)]"
    }
}
