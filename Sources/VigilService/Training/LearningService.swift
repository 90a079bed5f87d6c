// A Service that learns while serving: once the batch loop has a model set, it starts an
// OnlineTrainer (ServiceTrainer) on its own connection, hands it to the batch loop, and reads
// new labels from `vigil.labels` every `modelPollInterval`. Failures are logged; learning
// never stops the service. On shutdown it stops the trainer after its current step.
import ServiceLifecycle
import VigilEngine
import VigilPostgres

struct LearningService: Service {
    let runtime: PipelineRuntime

    func run() async throws {
        try await work()
        // Never return before this service's own shutdown (see PipelineRuntime.idle).
        try? await gracefulShutdown()
    }

    private func work() async throws {
        let r = runtime, c = r.configuration
        guard c.training, let registry = await r.models.waitForRegistry(stop: { Task.isShuttingDownGracefully || Task.isCancelled }) else { return }
        let training: ServiceTrainer
        do {
            training = try ServiceTrainer(registry: registry, spec: c.featureSpec, configuration: c,
                                          connection: PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-trainer"),
                                                                         label: "vigil.serve.trainer"),
                                          log: r.log,
                                          checkFinished: { [telemetry = r.telemetry] check, steps in
                                              telemetry.recordTrainingRound(steps: steps)
                                              // This instance's own promotion: the version poll will not report it.
                                              if case .promoted = check.outcome { telemetry.liveModel(registry.current) }
                                          })
            try await r.retryingDatabase("start learning") { try await training.start() }
        } catch {
            r.log.error("online learning could not start; serving without it", ["error": .string("\(error)")])
            return
        }
        r.models.learn(with: training.trainer)
        r.log.info("online learning started", ["schedule": .string(c.trainer.scheduleDescription),
                                                "min_labels": .int(Int64(c.trainer.minimumLabels))])
        let labels = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-labels"), label: "vigil.serve.labels")
        while await r.idle(c.modelPollInterval) {
            do { try await training.pollLabels(labels) } catch {
                r.log.warning("label poll failed; trying again at the next poll", ["error": .string("\(error)")])
            }
        }
        r.models.learn(with: nil)
        await training.stop()
        await labels.close()
    }
}
