// The HTTP endpoint of `vigil serve` (Hummingbird): GET /metrics (Prometheus text format),
// /healthz (the loop is alive) and /readyz (ready to take traffic). It runs next to the
// pipeline and stops after the pipeline's drain.
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The endpoint as a Service of serve's group. A disabled endpoint (port 0) does nothing. A
/// server that cannot start (port in use) is logged as an error and serving goes on: losing
/// the metrics must not stop fraud decisions (the orchestrator's /healthz probe notices).
struct MetricsEndpoint: Service {
    let runtime: PipelineRuntime

    func run() async throws {
        await serve()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    private func serve() async {
        let telemetry = runtime.telemetry, log = runtime.log
        let c = telemetry.configuration
        guard c.isEnabled else { return }
        do {
            // Hummingbird's application is itself a Service: it stops with this one's graceful shutdown.
            try await MetricsServer.application(telemetry, log: log).run()
        } catch is CancellationError {
        } catch {
            log.error("the metrics endpoint failed; serving without it", ["error": .string("\(error)"), "port": .int(Int64(c.port))])
        }
    }
}

enum MetricsServer {
    static func application(_ telemetry: ServiceTelemetry, log: ServiceLog) -> some ApplicationProtocol {
        let router = Router()
        router.get("metrics") { _, _ -> Response in
            let bytes = telemetry.exposition()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("healthz") { _, _ -> Response in verdict(telemetry.liveness()) }
        router.get("readyz") { _, _ -> Response in verdict(telemetry.readiness()) }
        let c = telemetry.configuration
        let port = c.port
        return Application(router: router, configuration: .init(address: .hostname(c.address, port: c.port), serverName: "vigil"),
                           onServerRunning: { _ in log.info("metrics endpoint listening", ["address": .string(c.address), "port": .int(Int64(port))]) },
                           // swift-log's default handler writes to standard output, which carries only the
                           // run summary; the endpoint's own events go to ServiceLog above.
                           logger: Logger(label: "vigil.metrics", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func verdict(_ v: HealthState.Verdict) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: v.ok ? .ok : .serviceUnavailable, headers: headers, body: .init(byteBuffer: ByteBuffer(string: v.body)))
    }
}
