// The one error type of VigilFeatures for operational failures: a bad feature spec,
// a snapshot that cannot be restored. Rejected events are not errors of the module;
// they are `EventRejection` values that go to the dead-letter table.

/// An error raised by VigilFeatures, with a stable code and where it was made.
public struct FeaturesError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable machine-readable code. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The feature spec file could not be read or parsed, or names something unknown.
        public static let invalidSpec = Code("invalid_spec")
        /// A snapshot is truncated, corrupt, from another format version or another spec.
        public static let invalidSnapshot = Code("invalid_snapshot")
        /// A file could not be read or written.
        public static let io = Code("io")

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

    /// None of these go away by trying again: the input has to change.
    public var isRetriable: Bool { code == .io }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "\(code): \(explanation)" }
}
