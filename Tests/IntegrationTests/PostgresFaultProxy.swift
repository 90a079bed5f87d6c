// A TCP proxy in front of the local PostgreSQL for fault injection: it relays both ways, and
// can lose the server's reply to the Nth COMMIT. The COMMIT itself reaches the server (so the
// transaction is durable) and the connection is cut before the reply is relayed: the client
// sees the connection lost at COMMIT, the "ambiguous commit" of a real network failure.
// Frontend messages are parsed just enough to find COMMIT (the startup packet and SSL/GSS
// requests are untyped; then each message is a type byte and a length).
import Foundation
import Glibc
import Synchronization

final class PostgresFaultProxy: @unchecked Sendable {  // mutable state behind `state`; sockets owned by relay threads
    let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let state = Mutex<(commits: Int, loseReplyToCommit: Set<Int>, lost: Int, closed: Bool)>((0, [], 0, false))

    /// Listens on a free loopback port and relays to 127.0.0.1:`targetPort`.
    init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw ProxyError(message: "cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Loses the server's reply to these COMMITs (1-based count of COMMITs through the proxy).
    func loseReply(toCommits numbers: Set<Int>) { state.withLock { $0.loseReplyToCommit = numbers } }
    var commitsSeen: Int { state.withLock { $0.commits } }
    var repliesLost: Int { state.withLock { $0.lost } }

    func close() {
        state.withLock { $0.closed = true }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while !state.withLock({ $0.closed }) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { if state.withLock({ $0.closed }) { return }; continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(targetPort).bigEndian
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else { Glibc.close(client); Glibc.close(server); continue }
            let connection = Connection(client: client, server: server)
            Thread { [self] in relayFrontend(connection) }.start()
            Thread { [self] in relayBackend(connection) }.start()
        }
    }

    /// Both sockets of one relayed connection, and whether the server's bytes are dropped.
    final class Connection: @unchecked Sendable {  // `swallowing` behind a mutex; fds closed once
        let client: Int32
        let server: Int32
        let swallowing = Mutex(false)
        private let closed = Mutex(false)
        init(client: Int32, server: Int32) { self.client = client; self.server = server }
        func cut() {
            guard !closed.withLock({ c in defer { c = true }; return c }) else { return }
            shutdown(client, Int32(SHUT_RDWR)); shutdown(server, Int32(SHUT_RDWR))
            Glibc.close(client); Glibc.close(server)
        }
    }

    private func relayBackend(_ c: Connection) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(c.server, &buffer, buffer.count)
            guard n > 0 else { c.cut(); return }
            if c.swallowing.withLock({ $0 }) { continue }
            guard writeAll(c.client, buffer, n) else { c.cut(); return }
        }
    }

    private func relayFrontend(_ c: Connection) {
        var pending: [UInt8] = []
        var typed = false
        var commitPending = false
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(c.client, &buffer, buffer.count)
            guard n > 0 else { c.cut(); return }
            pending.append(contentsOf: buffer[0..<n])
            // Forward whole messages only, so a COMMIT's Sync can be followed by the cut.
            while true {
                let header = typed ? 5 : 4
                guard pending.count >= header else { break }
                let lengthAt = typed ? 1 : 0
                let length = Int(UInt32(pending[lengthAt]) << 24 | UInt32(pending[lengthAt + 1]) << 16 | UInt32(pending[lengthAt + 2]) << 8 | UInt32(pending[lengthAt + 3]))
                let total = length + (typed ? 1 : 0)
                guard pending.count >= total else { break }
                let message = Array(pending[0..<total])
                pending.removeFirst(total)
                var cutAfter = false
                if !typed {
                    let code = message.count >= 8 ? UInt32(message[4]) << 24 | UInt32(message[5]) << 16 | UInt32(message[6]) << 8 | UInt32(message[7]) : 0
                    // SSLRequest / GSSENCRequest are followed by another untyped packet.
                    if code != 80_877_103 && code != 80_877_104 { typed = true }
                } else if message[0] == UInt8(ascii: "P") || message[0] == UInt8(ascii: "Q") {
                    // Parse: statement name, then the query; Query: the query. Both NUL-terminated.
                    var fields = message[5...].split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
                    if message[0] == UInt8(ascii: "P") { fields = Array(fields.dropFirst()) }
                    let query = fields.first.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    if query.trimmingCharacters(in: .whitespaces).uppercased() == "COMMIT" {
                        let number = state.withLock { s -> Int in s.commits += 1; return s.commits }
                        commitPending = state.withLock { $0.loseReplyToCommit.contains(number) }
                        if message[0] == UInt8(ascii: "Q") && commitPending { cutAfter = true }
                    }
                } else if message[0] == UInt8(ascii: "S") && commitPending {
                    cutAfter = true
                }
                if cutAfter {
                    // The reply to this COMMIT must never reach the client.
                    c.swallowing.withLock { $0 = true }
                }
                guard writeAll(c.server, message, message.count) else { c.cut(); return }
                if cutAfter {
                    state.withLock { $0.lost += 1 }
                    // Let the server run the COMMIT, then cut both sides.
                    Thread.sleep(forTimeInterval: 0.3)
                    c.cut()
                    return
                }
            }
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], _ count: Int) -> Bool {
        var sent = 0
        while sent < count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, count - sent) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    struct ProxyError: Error { var message: String }
}
