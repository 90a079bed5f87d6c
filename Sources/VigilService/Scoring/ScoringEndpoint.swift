// The scoring endpoint of `vigil serve --api` (Hummingbird, its own address and port):
// `POST /v1/score` (one event of the contract), `POST /v1/score/batch` (up to
// `max_batch_events` events, one JSON object per line) and `GET /v1/openapi.json`. Handlers
// decode the body with the stream's decoder (same rejections, same reason codes), admit the
// event to the ScoringQueue and wait for the batch loop's answer.
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import VigilFeatures

/// The endpoint as a Service of serve's group, shut down before the batch loop so requests in
/// flight are still answered while it drains.
struct ScoringEndpoint: Service {
    let runtime: PipelineRuntime
    let queue: ScoringQueue

    func run() async throws {
        let c = queue.configuration, log = runtime.log
        do {
            try await ScoringServer.application(queue, decoder: EventDecoder(), log: log).run()
        } catch is CancellationError {
        } catch {
            log.error("the scoring endpoint failed", ["error": .string("\(error)"), "address": .string(c.address), "port": .int(Int64(c.port))])
            throw error
        }
    }
}

enum ScoringServer {
    static func application(_ queue: ScoringQueue, decoder: EventDecoder, log: ServiceLog) -> some ApplicationProtocol {
        let c = queue.configuration
        let router = Router()
        router.post("v1/score") { request, _ -> Response in
            let started = ContinuousClock.now
            let answer = await score(try await body(request, limit: decoder.configuration.maxPayloadBytes), queue: queue, decoder: decoder,
                                     started: started)
            queue.metrics.total.record(ContinuousClock.now - started)
            return response(answer)
        }
        router.post("v1/score/batch") { request, _ -> Response in
            let started = ContinuousClock.now
            let limit = decoder.configuration.maxPayloadBytes * c.maxBatchEvents + c.maxBatchEvents
            guard case .success(let bytes) = try await body(request, limit: limit) else {
                return response(.refused(status: 400, code: EventRejection.Code.payloadTooLarge.rawValue,
                                         message: "a batch is at most \(limit) bytes", retryAfter: nil))
            }
            let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
                .filter { !$0.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") } }
            guard !lines.isEmpty, lines.count <= c.maxBatchEvents else {
                return response(.refused(status: 400, code: "invalid_batch",
                                         message: "a batch holds 1 to \(c.maxBatchEvents) events, one JSON object per line; got \(lines.count)",
                                         retryAfter: nil))
            }
            let answers = await withTaskGroup(of: (Int, ScoreAnswer).self) { group in
                for (i, line) in lines.enumerated() {
                    group.addTask { (i, await score(.success(Array(line)), queue: queue, decoder: decoder, started: started)) }
                }
                var answers = [ScoreAnswer?](repeating: nil, count: lines.count)
                for await (i, answer) in group { answers[i] = answer }
                return answers.map { $0! }
            }
            queue.metrics.total.record(ContinuousClock.now - started)
            var out: [UInt8] = Array(#"{"results":["#.utf8)
            for (i, answer) in answers.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += Array(#"{"status":\#(answer.status),"#.utf8)
                switch answer {
                case .decided(let body, _): out += Array(#""decision":"#.utf8) + body
                case .refused: out += Array(answer.errorBody.dropFirst().dropLast())
                }
                out.append(UInt8(ascii: "}"))
            }
            out += Array("]}".utf8)
            return json(.ok, out)
        }
        router.get("v1/openapi.json") { _, _ -> Response in json(.ok, Array(ScoringDocument.json.utf8)) }
        return Application(router: router, configuration: .init(address: .hostname(c.address, port: c.port), serverName: "vigil"),
                           onServerRunning: { channel in
                               let port = channel.localAddress?.port ?? c.port
                               queue.listening(on: port)
                               log.info("scoring endpoint listening", ["address": .string(c.address), "port": .int(Int64(port)),
                                                                       "commit": .string(c.commit.rawValue)])
                           },
                           logger: Logger(label: "vigil.api", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// The request body, or the refusal of one over `limit` bytes.
    static func body(_ request: Request, limit: Int) async throws -> Result<[UInt8], EventRejection> {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return .success(buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch is NIOTooManyBytesError {
            return .failure(EventRejection(.payloadTooLarge, "the body is over \(limit) bytes"))
        }
    }

    /// Decodes one event and waits for its answer.
    static func score(_ body: Result<[UInt8], EventRejection>, queue: ScoringQueue, decoder: EventDecoder,
                      started: ContinuousClock.Instant) async -> ScoreAnswer {
        let metrics = queue.metrics
        let decoded = body.flatMap { bytes in
            Result { () throws(EventRejection) -> TransactionEvent in
                let event = try decoder.decode(bytes)
                // The card id is the stream's Kafka key: the same limits hold.
                try decoder.checkKey(ArraySlice(event.cardID.utf8))
                return event
            }
        }
        metrics.parse.record(ContinuousClock.now - started)
        let event: TransactionEvent
        switch decoded {
        case .success(let e): event = e
        case .failure(let rejection):
            metrics.request(.rejected)
            return .refused(status: 400, code: rejection.code.rawValue, message: rejection.reason, retryAfter: nil)
        }
        let ticket: ScoreTicket
        switch queue.admit(event, arrivalMillis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) {
        case .refused(let answer):
            metrics.request(answer.status == 429 ? .overloaded : .unavailable)
            return answer
        case .admitted(let t), .following(let t):
            ticket = t
        }
        let c = queue.configuration
        let answer = await ticket.wait(timeout: c.requestTimeout)
            ?? .refused(status: 503, code: "timeout",
                        message: "no decision within \(c.requestTimeout); it may still be committed: retry with the same event_id",
                        retryAfter: c.retryAfterSeconds)
        switch answer {
        case .decided(_, let repeated): metrics.request(repeated ? .repeated : .decided)
        case .refused: metrics.request(.unavailable)
        }
        return answer
    }

    static func response(_ answer: ScoreAnswer) -> Response {
        switch answer {
        case .decided(let body, _):
            return json(.ok, body)
        case .refused(let status, _, _, let retryAfter):
            var r = json(HTTPResponse.Status(code: status), answer.errorBody)
            if let retryAfter { r.headers[.retryAfter] = String(retryAfter) }
            return r
        }
    }

    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
