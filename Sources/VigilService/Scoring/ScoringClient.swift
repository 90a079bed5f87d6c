// A small HTTP/1.1 client for the scoring endpoint: one keep-alive connection, blocking
// socket calls, for `vigil score` and the `api` benchmark's load generator (one client per
// thread). It speaks just what the endpoint answers: a status line, headers, and a body with
// Content-Length or chunked transfer encoding.
import Glibc

public final class ScoringClient {
    public struct Response: Sendable {
        public var status: Int
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public let host: String
    public let port: Int
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []

    /// `url`: `http://host:port` (a path, if any, is ignored; the client names its own).
    public init(url: String) throws {
        var rest = Substring(url)
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) } else if rest.contains("://") {
            throw Failure(description: "only http:// URLs are supported, got \(url)")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]) {
            host = String(rest[..<colon])
            self.port = port
        } else {
            host = String(rest)
            port = 80
        }
        guard !host.isEmpty else { throw Failure(description: "no host in \(url)") }
    }

    deinit { if socket >= 0 { close(socket) } }

    public func post(_ path: String, body: [UInt8], contentType: String = "application/json") throws -> Response {
        try send("POST", path, body: body, contentType: contentType)
    }

    public func get(_ path: String) throws -> Response {
        try send("GET", path, body: [], contentType: nil)
    }

    /// Sends one request; a keep-alive connection the server closed meanwhile is reopened once.
    private func send(_ method: String, _ path: String, body: [UInt8], contentType: String?) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        for attempt in 0..<2 {
            let fresh = socket < 0
            if fresh { try connect() }
            do {
                try write(request)
                return try readResponse()
            } catch let failure as Failure where attempt == 0 && !fresh {
                _ = failure
                disconnect()
            }
        }
        throw Failure(description: "unreachable")
    }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let e = entry {
            let fd = Glibc.socket(e.pointee.ai_family, e.pointee.ai_socktype, e.pointee.ai_protocol)
            if fd >= 0 {
                if Glibc.connect(fd, e.pointee.ai_addr, e.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    socket = fd
                    buffer.removeAll(keepingCapacity: true)
                    return
                }
                close(fd)
            }
            entry = e.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
    }

    private func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        buffer.removeAll(keepingCapacity: true)
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send failed: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Reads more bytes into `buffer`; throws when the peer closed.
    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv failed: \(String(cString: strerror(errno)))") }
            buffer += chunk[0..<n]
            return
        }
    }

    /// Index just past the first CRLF at or after `from` in `buffer`, reading more as needed.
    private func line(from: Int) throws -> (text: String, next: Int) {
        var i = from
        while true {
            while i + 1 < buffer.count {
                if buffer[i] == 13 && buffer[i + 1] == 10 { return (String(decoding: buffer[from..<i], as: UTF8.self), i + 2) }
                i += 1
            }
            try fill()
        }
    }

    private func readResponse() throws -> Response {
        var (statusLine, at) = try line(from: 0)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "not an HTTP response: \(statusLine)") }
        var headers: [String: String] = [:]
        while true {
            let (header, next) = try line(from: at)
            at = next
            if header.isEmpty { break }
            guard let colon = header.firstIndex(of: ":") else { continue }
            headers[header[..<colon].lowercased()] = String(header[header.index(after: colon)...]).trimmingCharacters(in: " \t")
        }
        var body: [UInt8] = []
        if let length = headers["content-length"].flatMap({ Int($0) }) {
            while buffer.count - at < length { try fill() }
            body = Array(buffer[at..<at + length])
            at += length
        } else if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let (sizeLine, next) = try line(from: at)
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw Failure(description: "bad chunk size \(sizeLine)")
                }
                at = next
                while buffer.count - at < size + 2 { try fill() }
                body += buffer[at..<at + size]
                at += size + 2
                if size == 0 { break }
            }
        }
        buffer.removeFirst(at)
        statusLine = ""
        if headers["connection"]?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
