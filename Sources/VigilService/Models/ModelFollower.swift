// A Service that keeps the scorer on the version live in `vigil.models`: it polls the live
// version every `modelPollInterval`, and adopts a new one only when it can use it (weights
// decode, checksum and version match the row, trained on this feature spec). A version it
// cannot use is refused: logged, counted in vigil_model_adoption_failures_total, /readyz
// degraded, and scoring goes on with the current version. It never stops the service.
import ServiceLifecycle
import VigilEngine
import VigilPostgres

struct ModelFollower: Service {
    let runtime: PipelineRuntime

    func run() async throws {
        try await work()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    private func work() async throws {
        let r = runtime, c = r.configuration
        guard let registry = await r.models.waitForRegistry(stop: { Task.isShuttingDownGracefully || Task.isCancelled }) else { return }
        let connection = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-models"), label: "vigil.serve.models")
        let store = ModelStore(connection: connection, schema: c.schema)
        while await r.idle(c.modelPollInterval) {
            await follow(registry, store)
        }
        await connection.close()
    }

    func follow(_ registry: ModelRegistry, _ store: ModelStore) async {
        let r = runtime
        do {
            guard let live = try await store.liveVersion() else { return }
            if live == registry.currentVersion {
                r.telemetry.modelAdoption(failed: nil)
                return
            }
            guard !r.models.isRefused(live) else { return }
            let started = ContinuousClock.now
            guard let version = try await store.follow(registry, compatibility: r.compatibility) else { return }
            r.telemetry.modelSwapped(to: registry.current, took: .now - started)
            r.telemetry.modelAdoption(failed: nil)
            r.log.info("model version changed in the registry: now scoring with it", ["version": .int(version)])
        } catch let refusal as ServiceError where refusal.code == .modelUnavailable {
            guard let live = try? await store.liveVersion(), r.models.refuse(live) else { return }
            let reason = "live version \(live) cannot be used: \(refusal.message); scoring with version \(registry.currentVersion)"
            r.telemetry.modelAdoption(failed: reason)
            r.log.error("refused to adopt the live model version; scoring goes on with the current one",
                        ["version": .int(live), "current": .int(registry.currentVersion), "reason": .string(refusal.message)])
        } catch {
            // The next poll tries again; the database may be failing over.
            r.log.warning("model version poll failed", ["error": .string("\(error)")])
        }
    }
}
