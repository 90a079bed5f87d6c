// How the pipeline starts learning once it has a live model (loaded or cold-started).
import VigilEngine
import VigilPostgres

extension FraudPipeline {
    /// Starts a trainer over `decider`'s registry on a connection of its own, and makes the
    /// decider hand it every scored batch.
    func startTraining(_ decider: BatchDecider) async throws -> ServiceTrainer {
        let c = configuration
        var pg = try c.databaseURL.map(PostgresConfiguration.init(url:)) ?? PostgresConfiguration.fromEnvironment([:])
        pg.keywords["application_name"] = "vigil-serve-trainer"
        let training = try ServiceTrainer(registry: decider.scorer.registry, spec: c.featureSpec, configuration: c,
                                          connection: PostgresConnection(configuration: pg, label: "vigil.serve.trainer"), log: log,
                                          checkFinished: { [telemetry, registry = decider.scorer.registry] check, steps in
                                              telemetry.recordTrainingRound(steps: steps)
                                              // This instance's own promotion: the version poll will not report it.
                                              if case .promoted = check.outcome { telemetry.liveModel(registry.current) }
                                          })
        try await training.start()
        decider.trainer = training.trainer
        log.info("online learning started", ["schedule": .string(c.trainer.scheduleDescription),
                                              "min_labels": .int(Int64(c.trainer.minimumLabels))])
        return training
    }
}
