// The one error type of VigilService: what went wrong in the runtime around the wrappers
// (Kafka, PostgreSQL, the engine), with the place it was made.

public struct ServiceError: Error, Sendable, CustomStringConvertible {
    /// Extensible: new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A setting is missing or out of range.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The offset compare-and-set failed: another member owns the partition now.
        public static let partitionFenced = Code(name: "partitionFenced")
        /// A stored model version could not be loaded or does not fit the feature spec.
        public static let modelUnavailable = Code(name: "modelUnavailable")
        /// Too few valid events arrived to train a first model (empty registry).
        public static let coldStartStarved = Code(name: "coldStartStarved")
        /// A batch could not be written; it was rolled back.
        public static let sinkFailed = Code(name: "sinkFailed")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The failure this one reports in the module's terms (a Kafka, PostgreSQL or model
    /// error), kept whole so a caller can still inspect it.
    public let underlying: (any Error)?
    public let isRetriable: Bool
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, isRetriable: Bool = false, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "ServiceError.\(code): \(explanation) (\(file):\(line))" }
}
