// The one error type of VigilReplay: what went wrong, where, and whether trying again can help.

/// An error raised while reading replay input, running a backtest or writing its results.
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Extensible: new codes are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A file could not be read or written.
        public static let io = Code(name: "io")
        /// An input row is malformed (and malformed rows are fatal), or the input is unusable.
        public static let malformedInput = Code(name: "malformedInput")
        /// A setting is out of range or inconsistent with the input.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The engine (scorer, trainer, model file) failed; the underlying message is kept.
        public static let engineFailure = Code(name: "engineFailure")
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

    /// Nothing in a replay is retriable: the same input and configuration fail the same way.
    public var isRetriable: Bool { false }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "ReplayError.\(code): \(explanation)" }
}
