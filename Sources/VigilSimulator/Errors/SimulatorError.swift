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
    public let file: String
    public let line: Int

    public init(_ message: String, code: Code = .output, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// A full disk or a transient I/O failure may clear; the command can simply be run again.
    public var isRetriable: Bool { code == .output }
    public var description: String { "\(code): \(message)" }
}
