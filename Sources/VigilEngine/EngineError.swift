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
    public let file: String
    public let line: Int

    public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// Whether trying again can succeed: a version conflict means another promotion won the
    /// race (rebuild on the new current model); too little data may be enough later.
    public var isRetriable: Bool { code == .versionConflict || code == .notEnoughData }

    public var description: String { "EngineError.\(code): \(message) (\(file):\(line))" }

    /// Wraps any error from VigilML or VigilFeatures, keeping its text.
    static func wrapping(_ error: any Error, _ context: String, file: String = #fileID, line: Int = #line) -> EngineError {
        if let e = error as? EngineError { return e }
        return EngineError(.modelFailure, "\(context): \(error)", file: file, line: line)
    }
}
