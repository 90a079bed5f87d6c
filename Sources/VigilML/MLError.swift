// The one error type of VigilML: what went wrong, where, and whether trying again can help.

/// An error raised by VigilML: bad input, a bad model file, or a mismatched configuration.
public struct MLError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Extensible: new codes are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// An input contained NaN or an infinite value.
        public static let nonFiniteInput = Code(name: "nonFiniteInput")
        /// A model produced a non-finite score (the batch's outputs must be discarded).
        public static let nonFiniteOutput = Code(name: "nonFiniteOutput")
        /// An input value is finite but far outside the range of standardised features.
        public static let inputOutOfRange = Code(name: "inputOutOfRange")
        /// An input had the wrong number of values or an out-of-range index.
        public static let shapeMismatch = Code(name: "shapeMismatch")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// A model file is shorter than its header says.
        public static let truncatedFile = Code(name: "truncatedFile")
        /// A model file's checksum does not match its payload.
        public static let checksumMismatch = Code(name: "checksumMismatch")
        /// A model file is not a Vigil model, or has an unknown version or kind.
        public static let unsupportedFormat = Code(name: "unsupportedFormat")
        /// A model file was trained on a different feature specification.
        public static let featureSpecMismatch = Code(name: "featureSpecMismatch")
        /// A model file's payload could not be decoded.
        public static let corruptPayload = Code(name: "corruptPayload")
        /// Training produced a non-finite loss or weight and was rolled back.
        public static let trainingDiverged = Code(name: "trainingDiverged")
        /// An operation needs a step that has not happened yet (e.g. scoring before fitting the normal region).
        public static let notReady = Code(name: "notReady")
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

    /// Whether trying the same thing again can succeed. Model errors come from the input or
    /// the file, so they never are; a diverged training run may succeed on other data.
    public var isRetriable: Bool { code == .trainingDiverged }

    /// The message followed by its cause: what a command prints for an operator.
    public var explanation: String { underlying.map { "\(message): \($0)" } ?? message }

    public var description: String { "MLError.\(code): \(explanation) (\(file):\(line))" }
}
