// The `api` benchmark's load generator and its HTTP floor. Load: several keep-alive
// connections (ScoringClient, one thread each), each sending on a fixed schedule so that
// together they offer `rate` requests per second; a connection waits for its answer before its
// next request (closed loop), and latency runs from the request's scheduled time, so a server
// that falls behind is charged for the queue it causes (no coordinated omission). Floor: a
// Hummingbird handler that reads the body and answers a fixed decision-sized body, measured
// with the same client: what HTTP alone costs on this machine.
import ArgumentParser
import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import VigilService

/// What one run at one offered rate measured.
struct LoadFigures {
    var offered: Int
    var achieved: Double
    var p50: Double
    var p99: Double
    var p999: Double
    var errors: Int
    var requests: Int
    /// Event ids answered 200 (the audit check counts their rows).
    var decided: [String]

    var json: [String: Any] {
        ["offered_per_s": offered, "achieved_per_s": (achieved * 10).rounded() / 10, "p50_ms": Self.ms(p50), "p99_ms": Self.ms(p99),
         "p999_ms": Self.ms(p999), "errors": errors, "requests": requests]
    }

    var line: String {
        String(format: "%5d/s offered: %7.1f/s achieved, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, %d errors of %d",
               offered, achieved, p50, p99, p999, errors, requests)
    }

    static func ms(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }
}

enum APILoad {
    /// Offers `rate` requests/s for `seconds` over `connections` connections to `url`/v1/score.
    /// `body(i)` is request i's body and `id(i)` its event id.
    static func run(url: String, rate: Int, seconds: Double, connections: Int,
                    body: @escaping @Sendable (Int) -> [UInt8], id: @escaping @Sendable (Int) -> String) -> LoadFigures {
        let total = Int(Double(rate) * seconds)
        let interval = 1e9 / Double(rate)
        let start = DispatchTime.now().uptimeNanoseconds + 50_000_000
        let results = Mutex<(latencies: [Double], errors: Int, decided: [String], last: UInt64)>(([], 0, [], start))
        let done = DispatchGroup()
        for k in 0..<connections {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                var latencies: [Double] = []
                var decided: [String] = []
                var errors = 0
                var last = start
                let client = try? ScoringClient(url: url)
                var i = k
                while i < total {
                    let scheduled = start + UInt64(Double(i) * interval)
                    let now = DispatchTime.now().uptimeNanoseconds
                    if scheduled > now { usleep(UInt32((scheduled - now) / 1_000)) }
                    var ok = false
                    if let client, let response = try? client.post("/v1/score", body: body(i)) { ok = response.status == 200 }
                    let finished = DispatchTime.now().uptimeNanoseconds
                    latencies.append(Double(finished - min(scheduled, finished)) / 1e6)
                    if ok { decided.append(id(i)) } else { errors += 1 }
                    last = max(last, finished)
                    i += connections
                }
                results.withLock {
                    $0.latencies += latencies
                    $0.errors += errors
                    $0.decided += decided
                    $0.last = max($0.last, last)
                }
            }
            thread.name = "vigil-bench-load-\(k)"
            thread.start()
        }
        done.wait()
        return results.withLock { r in
            let sorted = r.latencies.sorted()
            func q(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
            let elapsed = Double(r.last - start) / 1e9
            return LoadFigures(offered: rate, achieved: Double(sorted.count) / max(elapsed, 1e-9), p50: q(0.5), p99: q(0.99),
                               p999: q(0.999), errors: r.errors, requests: sorted.count, decided: r.decided)
        }
    }
}

/// The HTTP floor: reads the body, answers a fixed body the size of a decision.
enum HTTPFloor {
    static let answer = Array(#"{"event_id":"floor","decision":"allow","risk":0.0123,"anomaly_score":0.75,"fraud_probability":0.0042,"model_version":1,"reasons":[{"kind":"reconstruction","name":"amount","weight":1.25},{"kind":"classifier","name":"card.count_1h","weight":0.031}],"decided_at":"2026-12-03T15:30:00.123456Z"}"#.utf8)

    /// Starts the floor on a free loopback port; returns the port and the task to cancel.
    static func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let router = Router()
        router.post("v1/score") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer)))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "floor"),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
                              logger: Logger(label: "vigil.bench.floor", factory: { _ in SwiftLogNoOpLogHandler() }))
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for _ in 0..<500 {
            if let p = port.withLock({ $0 }) { return (p, task) }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        throw ValidationError("the HTTP floor did not start")
    }
}
