// LISTEN/NOTIFY delivery: waits on the connection's socket with poll(2), then
// lets libpq read what arrived and hands out queued notifications.
import CLibPQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A notification received on a channel this session listens to.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var senderPID: Int32
}

struct NotificationReader {
    let handle: ConnectionHandle

    func next(timeout: Duration) throws -> PostgresNotification? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let notification = try take() { return notification }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            var descriptor = pollfd(fd: handle.socket, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(remaining / .milliseconds(1), 60_000).rounded(.up))
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno != EINTR {
                throw PostgresError(.connectionLost, reason: "poll on the connection socket failed (errno \(errno))")
            }
        }
    }

    /// Reads whatever the socket holds and returns the first queued notification.
    private func take() throws -> PostgresNotification? {
        try handle.withConnection { connection in
            guard PQconsumeInput(connection) == 1 else { throw handle.connectionError("reading notifications") }
            guard let raw = PQnotifies(connection) else { return nil }
            defer { PQfreemem(raw) }
            return PostgresNotification(
                channel: String(cString: raw.pointee.relname),
                payload: String(cString: raw.pointee.extra),
                senderPID: raw.pointee.be_pid
            )
        }
    }
}
