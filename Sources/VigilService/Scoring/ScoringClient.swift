// A small HTTP/1.1 client for the scoring endpoint: one keep-alive connection and blocking
// calls, for `vigil score` and the `api` benchmark's load generator (one client per thread).
// The connection, the HTTP framing (Content-Length or chunked bodies) and the socket calls are
// SwiftNIO's (NIOPosix, NIOHTTP1); the caller's thread waits for each answer.
import NIOCore
import NIOHTTP1
import NIOPosix

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
    private var channel: Channel?

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

    deinit { disconnect() }

    public func post(_ path: String, body: [UInt8], contentType: String = "application/json") throws -> Response {
        try send(.POST, path, body: body, contentType: contentType)
    }

    public func get(_ path: String) throws -> Response {
        try send(.GET, path, body: [], contentType: nil)
    }

    /// Sends one request; a keep-alive connection the server closed meanwhile is reopened once.
    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8], contentType: String?) throws -> Response {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        head.headers.add(name: "Content-Length", value: String(body.count))
        if let contentType { head.headers.add(name: "Content-Type", value: contentType) }
        for attempt in 0..<2 {
            let fresh = channel == nil
            let channel = try self.channel ?? connect()
            let exchange = Exchange(head: head, body: body, answer: channel.eventLoop.makePromise())
            // A request that cannot be written fails its answer (completing a promise twice is a no-op).
            channel.writeAndFlush(exchange).whenFailure { error in
                exchange.answer.fail(Failure(description: "send failed: \(error)"))
            }
            do {
                let response = try exchange.answer.futureResult.wait()
                if response.headers["connection"]?.lowercased() == "close" { disconnect() }
                return response
            } catch {
                disconnect()
                if attempt == 0 && !fresh { continue }
                throw error as? Failure ?? Failure(description: "\(error)")
            }
        }
        throw Failure(description: "unreachable")
    }

    private func connect() throws -> Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
        do {
            let channel = try bootstrap.connect(host: host, port: port).wait()
            self.channel = channel
            return channel
        } catch {
            throw Failure(description: "cannot connect to \(host):\(port): \(error)")
        }
    }

    private func disconnect() {
        channel?.close(promise: nil)
        channel = nil
    }
}

/// One request and the promise its answer fulfils.
private struct Exchange: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]
    var answer: EventLoopPromise<ScoringClient.Response>
}

/// Writes each exchange's request and collects its response; the client sends one exchange at
/// a time, so at most one answer is pending. A connection that closes or fails first fails it.
private final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Exchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: EventLoopPromise<ScoringClient.Response>?
    private var response: ScoringClient.Response?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        pending = exchange.answer
        response = nil
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if !exchange.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: exchange.body)))), promise: nil)
        }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            var headers: [String: String] = [:]
            for (name, value) in head.headers { headers[name.lowercased()] = value }
            response = ScoringClient.Response(status: Int(head.status.code), headers: headers, body: [])
        case .body(let buffer):
            response?.body += buffer.readableBytesView
        case .end:
            guard let pending, let response else { return }
            self.pending = nil
            self.response = nil
            pending.succeed(response)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ScoringClient.Failure(description: "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(ScoringClient.Failure(description: "\(error)"))
        context.close(promise: nil)
    }

    private func fail(_ failure: ScoringClient.Failure) {
        pending?.fail(failure)
        pending = nil
        response = nil
    }
}
