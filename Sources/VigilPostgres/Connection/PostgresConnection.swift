// The async API: one PostgresSession confined to its own serial DispatchQueue,
// so libpq's blocking calls never occupy a thread of Swift's cooperative pool.
import Dispatch
import Synchronization

/// A database connection for async code. Every call hops to the connection's
/// own queue and resumes the caller when libpq is done. Calls run one at a time
/// in submission order. Transaction bodies are synchronous closures that run on
/// that queue, which keeps transactions short and free of suspension points.
public final class PostgresConnection: Sendable {
    private let queue: DispatchQueue
    /// Only touched on `queue`; the mutex makes that provable to the compiler.
    private let session: Mutex<PostgresSession>

    public init(configuration: PostgresConfiguration, label: String = "vigil.postgres") {
        queue = DispatchQueue(label: label)
        session = Mutex(PostgresSession(configuration: configuration))
    }

    /// Runs `body` with the synchronous session on the connection's queue.
    /// Cancelling the calling task asks the server to cancel the running
    /// statement (it then fails with SQLSTATE 57014); a call whose task is
    /// already cancelled when its turn comes does not start.
    public func withSession<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await run(connecting: true, body)
    }

    private func run<T: Sendable>(connecting: Bool, _ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        let call = CallCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.async {
                    let result = Result {
                        try self.session.withLock { session in
                            if connecting { try session.connect() }
                            guard call.start(session.cancelToken) else { throw CancellationError() }
                            defer { call.finish() }
                            return try body(session)
                        }
                    }
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            call.cancel()
        }
    }

    public func connect() async throws {
        try await withSession { try $0.connect() }
    }

    /// Runs a statement (its interpolated values bound as parameters) and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withSession { try $0.query(query) }
    }

    /// Runs a statement and returns how many rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withSession { try $0.execute(query) }
    }

    /// Runs SQL text with `$1, $2...` placeholders and the values for them.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue]) async throws -> PostgresRows {
        try await query(PostgresQuery(unsafeSQL: sql, binds: parameters))
    }

    /// Runs SQL text with `$1, $2...` placeholders; returns how many rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue]) async throws -> Int {
        try await execute(PostgresQuery(unsafeSQL: sql, binds: parameters))
    }

    /// COMMIT when `body` returns, ROLLBACK when it throws.
    @discardableResult
    public func transaction<T: Sendable>(
        isolation: PostgresSession.IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (PostgresSession) throws -> T
    ) async throws -> T {
        try await withSession { try $0.transaction(isolation: isolation, body) }
    }

    /// Binary COPY of the rows `body` appends; returns the row count.
    @discardableResult
    public func copy(
        into table: String, schema: String? = nil, columns: [String],
        _ body: @escaping @Sendable (inout PostgresCopyWriter) throws -> Void
    ) async throws -> Int {
        try await withSession { try $0.copy(into: table, schema: schema, columns: columns, body) }
    }

    public func listen(_ channel: String) async throws {
        try await withSession { try $0.listen(channel) }
    }

    public func notify(_ channel: String, payload: String = "") async throws {
        try await withSession { try $0.notify(channel, payload: payload) }
    }

    /// Waits for a notification; blocks this connection's queue (not the pool)
    /// meanwhile, so use a dedicated connection for listening.
    public func nextNotification(timeout: Duration) async throws -> PostgresNotification? {
        try await withSession { try $0.nextNotification(timeout: timeout) }
    }

    public func backendPID() async throws -> Int32 {
        try await withSession { try $0.backendPID() }
    }

    public func close() async {
        _ = try? await run(connecting: false) { $0.close() }
    }
}

/// One call's cancellation state: cancelled before it started (do not start),
/// or running with a cancel token (ask the server to cancel).
final class CallCancellation: Sendable {
    private enum State { case waiting, running(CancelToken?), cancelled, finished }
    private let state = Mutex<State>(.waiting)

    /// False when the call was cancelled before its turn came.
    func start(_ token: CancelToken?) -> Bool {
        state.withLock { state in
            if case .cancelled = state { return false }
            state = .running(token)
            return true
        }
    }

    func finish() { state.withLock { $0 = .finished } }

    func cancel() {
        let token: CancelToken? = state.withLock { state in
            switch state {
            case .waiting: state = .cancelled; return nil
            case .running(let token): return token
            case .cancelled, .finished: return nil
            }
        }
        token?.requestCancel() // outside the lock: it does network I/O
    }
}
