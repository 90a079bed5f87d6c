// ScoringClient against a scripted HTTP/1.1 server on loopback: chunked and sized bodies,
// keep-alive reuse, `Connection: close`, a connection the server drops between requests, and an
// endpoint that is not there.
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
import VigilService

@Suite struct ScoringClientTests {
    @Test func sizedAndChunkedBodiesArriveWholeOnOneKeptAliveConnection() throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let client = try ScoringClient(url: "http://127.0.0.1:\(server.port)/ignored")
        let sized = try client.post("/sized", body: Array("{\"a\":1}".utf8))
        #expect(sized.status == 200)
        #expect(String(decoding: sized.body, as: UTF8.self) == "echo:{\"a\":1}")
        #expect(sized.headers["content-type"] == "application/json")
        let chunked = try client.get("/chunked")
        #expect(chunked.status == 200)
        #expect(chunked.headers["transfer-encoding"] == "chunked")
        #expect(String(decoding: chunked.body, as: UTF8.self) == "first,second,third")
        #expect(server.connections == 1)
    }

    @Test func connectionCloseAndADroppedConnectionAreReopenedForTheNextRequest() throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let client = try ScoringClient(url: "http://127.0.0.1:\(server.port)")
        #expect(try client.get("/close").status == 200)
        #expect(try client.get("/sized").status == 200)
        #expect(server.connections == 2)
        // The server answers, then drops the connection without saying so: the next request
        // fails on the old connection and is sent once more on a new one.
        #expect(try client.get("/drop").status == 200)
        let after = try client.post("/sized", body: Array("x".utf8))
        #expect(after.status == 200 && after.body == Array("echo:x".utf8))
        #expect(server.connections == 3)
    }

    @Test func anEndpointThatIsNotThereIsAFailureNotAHang() throws {
        let server = try ScriptedServer()
        let port = server.port
        server.stop()
        let client = try ScoringClient(url: "http://127.0.0.1:\(port)")
        #expect(throws: ScoringClient.Failure.self) { try client.get("/sized") }
        #expect(throws: ScoringClient.Failure.self) { try ScoringClient(url: "https://127.0.0.1:1") }
    }
}

/// Answers by path: `/sized` echoes the body with a Content-Length, `/chunked` sends three
/// chunks, `/close` says `Connection: close` and closes, `/drop` answers and closes silently.
private final class ScriptedServer: Sendable {
    let port: Int
    private let channel: Channel
    private let accepted = Counter()

    var connections: Int { accepted.count.withLock { $0 } }

    init() throws {
        let accepted = self.accepted
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.count.withLock { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress!.port!
    }

    func stop() { try? channel.close().wait() }
}

private final class Counter: Sendable {
    let count = Mutex(0)
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var path = ""
    private var body: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
            body = []
        case .body(let buffer):
            body += buffer.readableBytesView
        case .end:
            answer(context)
        }
    }

    private func answer(_ context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        func send(_ parts: [String], close: Bool) {
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            for part in parts {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: part)))), promise: nil)
            }
            let sent = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if close {
                let channel = context.channel
                sent.whenComplete { _ in channel.close(promise: nil) }
            }
        }
        switch path {
        case "/chunked":
            headers.add(name: "Transfer-Encoding", value: "chunked")
            send(["first,", "second,", "third"], close: false)
        case "/close":
            headers.add(name: "Content-Length", value: "2")
            headers.add(name: "Connection", value: "close")
            send(["{}"], close: true)
        case "/drop":
            headers.add(name: "Content-Length", value: "2")
            send(["{}"], close: true)
        default:
            let text = "echo:" + String(decoding: body, as: UTF8.self)
            headers.add(name: "Content-Length", value: String(text.utf8.count))
            send([text], close: false)
        }
    }
}
