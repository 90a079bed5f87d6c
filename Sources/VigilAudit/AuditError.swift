// The one error type of VigilAudit: key files, link encodings and verification inputs that
// cannot be used, with the place the error was made. Never carries key material.

public struct AuditError: Error, Sendable, CustomStringConvertible {
    /// Extensible: new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A signing or verification key file is missing, unreadable or malformed.
        public static let invalidKey = Code(name: "invalidKey")
        /// A stored link or row map does not have the documented encoding.
        public static let malformedLink = Code(name: "malformedLink")
        /// The arguments of a verification make no sense (empty offset window...).
        public static let invalidRequest = Code(name: "invalidRequest")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The failure this one reports in the module's terms (a Kafka, PostgreSQL or model
    /// error), kept whole so a caller can still inspect it.
    public let underlying: (any Error)?
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "AuditError.\(code): \(explanation) (\(file):\(line))" }
}
