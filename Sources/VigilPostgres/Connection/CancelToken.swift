// Cancelling a running statement from another thread (Task cancellation while
// the connection's queue is blocked in libpq).
import CLibPQ

/// Owns a `PGcancel*`. libpq documents PQcancel as safe to call from any thread
/// (even a signal handler) while the connection works, and the object stays
/// valid until PQfreeCancel, which only deinit calls. Hence the unchecked
/// Sendable on this tiny wrapper.
final class CancelToken: @unchecked Sendable {
    private let cancel: OpaquePointer

    init?(connection: OpaquePointer) {
        guard let cancel = PQgetCancel(connection) else { return nil }
        self.cancel = cancel
    }

    deinit { PQfreeCancel(cancel) }

    /// Asks the server to cancel whatever the connection is running; the running
    /// statement then fails with SQLSTATE 57014. Best effort: false if the request
    /// could not be sent.
    @discardableResult
    func requestCancel() -> Bool {
        var message = [CChar](repeating: 0, count: 256)
        return PQcancel(cancel, &message, Int32(message.count)) == 1
    }
}
