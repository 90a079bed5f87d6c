// The one error type of VigilEngine: what went wrong, where, and whether trying again can help.

/// An error raised by the scorer, the decision policy, the model registry or the trainer.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Extensible: new codes are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A model set was trained on another feature spec than the extractor it is used with.
        public static let featureSpecMismatch = Code(name: "featureSpecMismatch")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// A version asked for is not in the registry.
        public static let unknownVersion = Code(name: "unknownVersion")
        /// A rollback was asked for but there is no earlier version to go back to.
        public static let noPreviousVersion = Code(name: "noPreviousVersion")
        /// A version number is already taken, or the current model changed under a candidate.
        public static let versionConflict = Code(name: "versionConflict")
        /// Serialised model-set bytes are truncated, altered or of an unknown format.
        public static let corruptModelSet = Code(name: "corruptModelSet")
        /// An encoded training example (the training topic's message) is truncated or of an unknown format.
        public static let corruptTrainingExample = Code(name: "corruptTrainingExample")
        /// VigilML rejected an input or a model (the underlying message is kept).
        public static let modelFailure = Code(name: "modelFailure")
        /// Not enough data yet for the step asked for (e.g. a cold start without warm-up rows).
        public static let notEnoughData = Code(name: "notEnoughData")
        /// The promotion guard rejected a model set (e.g. a compressed version against its parent).
        public static let guardRejected = Code(name: "guardRejected")
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

    /// Whether trying again can succeed: a version conflict means another promotion won the
    /// race (rebuild on the new current model); too little data may be enough later.
    public var isRetriable: Bool { code == .versionConflict || code == .notEnoughData }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "EngineError.\(code): \(explanation) (\(file):\(line))" }

    /// Wraps any error from VigilML or VigilFeatures as its `underlying` cause.
    static func wrapping(_ error: any Error, _ context: String, file: String = #fileID, line: Int = #line) -> EngineError {
        if let e = error as? EngineError { return e }
        return EngineError(.modelFailure, context, underlying: error, file: file, line: line)
    }
}
