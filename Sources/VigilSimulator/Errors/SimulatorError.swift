// The simulator's error type.

/// The simulator's one error type: output that cannot be created or written.
public struct SimulatorError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        /// A file could not be created, opened or written.
        public static let output = Code("output")
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

    /// A full disk or a transient I/O failure may clear; the command can simply be run again.
    public var isRetriable: Bool { code == .output }
    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "\(code): \(explanation)" }
}
