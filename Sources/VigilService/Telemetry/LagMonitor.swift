// A Service that asks the broker for consumer lag every `lag_interval_ms` beside the batch
// loop (a round trip per partition, on the consumer's blocking queue), so a slow answer never
// holds up a batch. It stops querying once the batch loop closes the consumer.
import ServiceLifecycle

struct LagMonitor: Service {
    let runtime: PipelineRuntime

    func run() async throws {
        try await work()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    private func work() async throws {
        let r = runtime
        while await r.idle(r.telemetry.configuration.lagInterval) {
            do {
                if let lags = try await r.gate.whileOpen({ try await r.consumer.lag(timeout: .seconds(1)) }) {
                    r.telemetry.consumerLag(lags)
                }
            } catch {
                r.log.debug("consumer lag unavailable", ["error": .string("\(error)")])
            }
        }
    }
}
