// The one error type of VigilPostgres: what went wrong (Code), the server's
// SQLSTATE and message fields when the server said it, and whether retrying on
// a fresh connection or transaction can help.

/// An error from the database or from this wrapper.
///
/// `description` names only the code, the SQLSTATE and schema object names, never
/// values: server messages can quote row data ("Key (card_id)=(4111...) already
/// exists"). Use `debugDescription` (`String(reflecting:)`) for the full server text.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration, connectionFailed, connectionLost, server, decoding, encoding
            case migration, misuse, queryCancelled
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration or URL could not be understood.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// No connection could be established.
        public static let connectionFailed = Code(.connectionFailed)
        /// An established connection broke; the statement's fate is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// The server rejected a statement; see `sqlState` and `serverInfo`.
        public static let server = Code(.server)
        /// A result value could not be turned into the Swift type asked for.
        public static let decoding = Code(.decoding)
        /// A Swift value cannot be sent (for example a string with a NUL byte).
        public static let encoding = Code(.encoding)
        /// A migration file is missing, changed after it was applied, or malformed.
        public static let migration = Code(.migration)
        /// The API was used out of order (nested transaction, COPY not finished...).
        public static let misuse = Code(.misuse)
        /// The statement was cancelled (task cancellation, or SQLSTATE 57014 from
        /// statement_timeout or another session's pg_cancel_backend).
        public static let queryCancelled = Code(.queryCancelled)

        public var description: String { base.rawValue }
    }

    /// The server's error fields (PQresultErrorField), present when `code == .server`
    /// or when the server reported why it closed the connection.
    public struct ServerInfo: Sendable, Hashable {
        public var severity: String?
        public var message: String?
        public var detail: String?
        public var hint: String?
        public var position: String?
        public var context: String?
        public var schemaName: String?
        public var tableName: String?
        public var columnName: String?
        public var dataTypeName: String?
        public var constraintName: String?
        public init() {}
    }

    public var code: Code
    /// Five-character SQLSTATE such as "23505", when the server sent one.
    public var sqlState: String?
    public var serverInfo: ServerInfo?
    /// Client-side explanation (libpq's message or ours). May quote configuration
    /// but never passwords; only shown by `debugDescription`.
    public var reason: String
    public var file: String
    public var line: Int

    public init(
        _ code: Code, sqlState: String? = nil, serverInfo: ServerInfo? = nil, reason: String,
        file: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.sqlState = sqlState
        self.serverInfo = serverInfo
        self.reason = reason
        self.file = file
        self.line = line
    }

    /// Whether the same work may succeed if retried (on a new connection or a new
    /// transaction): connection loss, serialization failure, deadlock, admin or
    /// crash shutdown, too many connections, and the server being in recovery.
    public var isRetriable: Bool {
        switch code {
        case .connectionLost, .connectionFailed: return true
        case .server: return sqlState.map(Self.isRetriable(sqlState:)) ?? false
        default: return false
        }
    }

    /// Classification of SQLSTATEs that a retry can cure.
    public static func isRetriable(sqlState: String) -> Bool {
        switch sqlState {
        case "40001", // serialization_failure
             "40P01", // deadlock_detected
             "57P01", // admin_shutdown
             "57P02", // crash_shutdown
             "57P03", // cannot_connect_now
             "53300", // too_many_connections
             "55P03", // lock_not_available
             "25006": // read_only_sql_transaction (failover to a standby)
            return true
        default:
            // connection_exception class, except protocol_violation (a client bug,
            // such as a wrong binary COPY width, that a retry would repeat).
            return sqlState.hasPrefix("08") && sqlState != "08P01"
        }
    }

    public var description: String {
        var text = "PostgresError(\(code)"
        if let sqlState { text += ", SQLSTATE \(sqlState)" }
        if let table = serverInfo?.tableName { text += ", table \(table)" }
        if let constraint = serverInfo?.constraintName { text += ", constraint \(constraint)" }
        if isRetriable { text += ", retriable" }
        return text + ")"
    }

    public var debugDescription: String {
        var parts = [description, "reason: \(reason)"]
        if let info = serverInfo {
            let fields: [(String, String?)] = [
                ("severity", info.severity), ("message", info.message), ("detail", info.detail),
                ("hint", info.hint), ("position", info.position), ("context", info.context),
                ("schema", info.schemaName), ("column", info.columnName), ("type", info.dataTypeName),
            ]
            for (name, value) in fields { if let value { parts.append("\(name): \(value)") } }
        }
        parts.append("at \(file):\(line)")
        return parts.joined(separator: "; ")
    }
}
