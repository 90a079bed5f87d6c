// A Service that learns while serving, across the consumer group: once the batch loop has a
// model set, it hands the batch loop a ServiceTrainer's joiner, and every tick (a third of
// the lease TTL, or the model poll interval if shorter) claims or renews the group's learner
// lease, sends the examples of new labels to the training topic, and, while this instance
// is the learner, feeds the learner from that topic. Failures are logged; learning never
// stops the service. On shutdown the learner stops after its current step and gives the
// lease up, so another member takes the role without waiting out the TTL.
import Foundation
import ServiceLifecycle
import VigilEngine
import VigilKafka
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
        let metrics = r.telemetry.learner
        let training: ServiceTrainer
        do {
            training = try ServiceTrainer(registry: registry, spec: c.featureSpec, configuration: c,
                                          connection: PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-trainer"),
                                                                         label: "vigil.serve.trainer"),
                                          metrics: metrics)
            // Vectors scored from now on can be joined: set before the database round trip.
            r.models.learn(with: training.joiner)
            try await r.retryingDatabase("start learning") { try await training.start() }
        } catch {
            r.models.learn(with: nil)
            r.log.error("online learning could not start; serving without it", ["error": .string("\(error)")])
            return
        }
        let labels = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-labels"), label: "vigil.serve.labels")
        // The lease on a connection of its own: a renewal never queues behind a label poll.
        let leaseConnection = PostgresConnection(configuration: try c.postgresConfiguration(suffix: "-lease"), label: "vigil.serve.lease")
        let group = LearnerGroup(runtime: r, registry: registry, training: training, metrics: metrics,
                                 lease: LearnerLeaseStore(connection: leaseConnection, schema: c.schema, groupID: c.groupID))
        r.log.info("online learning started", ["schedule": .string(c.trainer.scheduleDescription), "min_labels": .int(Int64(c.trainer.minimumLabels)),
                                                "training_topic": .string(c.learner.trainingTopic), "learner_holder": .string(group.holder)])
        // The lease and the learner's feed on one cadence, the label poll on another: a slow
        // poll (a delivery flush, a loaded database) must not delay a renewal past the TTL.
        let labelPoll = Task {
            while await r.idle(c.modelPollInterval) {
                do { try await training.pollLabels(labels) } catch {
                    r.log.warning("label poll failed; trying again at the next poll", ["error": .string("\(error)")])
                }
                await group.measureLag()
            }
        }
        var role = LearnerRole(ttl: c.learner.leaseTTL)
        while await r.idle(min(c.modelPollInterval, c.learner.renewInterval)) {
            await group.claim(&role)
            await group.feed(&role)
        }
        labelPoll.cancel()
        await labelPoll.value
        await group.perform(role.stop())
        r.models.learn(with: nil)
        await training.stop()
        await labels.close()
        await leaseConnection.close()
    }
}

/// What LearningService does with the learner role: claims the lease, starts and ends tenures
/// as the role says, feeds the running learner from the training topic.
struct LearnerGroup {
    let runtime: PipelineRuntime
    let registry: ModelRegistry
    let training: ServiceTrainer
    let metrics: LearnerMetrics
    let lease: LearnerLeaseStore
    /// This process's name in the lease: the member name and a nonce, so two processes that
    /// share a member name never take each other's lease for their own.
    let holder: String

    init(runtime: PipelineRuntime, registry: ModelRegistry, training: ServiceTrainer, metrics: LearnerMetrics, lease: LearnerLeaseStore) {
        self.runtime = runtime
        self.registry = registry
        self.training = training
        self.metrics = metrics
        self.lease = lease
        holder = "\(runtime.configuration.memberName)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    func claim(_ role: inout LearnerRole) async {
        let action: LearnerRole.Action
        do {
            let token = try await lease.claim(holder: holder, ttlMillis: runtime.configuration.learner.leaseTTLMillis)
            action = role.claimed(token, at: .now)
        } catch {
            runtime.log.warning("learner lease claim failed; trying again at the next tick", ["error": .string("\(error)")])
            action = role.claimFailed(at: .now)
        }
        await perform(action)
        if case .learner(let token, _) = role.state { _ = await startedOrDropped(token, &role) }
        if action != .none || role.state == .follower { training.roleDecided() }
    }

    /// A tenure that could not start (database or broker unreachable) gives the lease back.
    private func startedOrDropped(_ token: Int64, _ role: inout LearnerRole) async -> Bool {
        guard training.currentTenure?.token != token else { return true }
        runtime.log.warning("could not start learning as the group's learner; giving the lease up", ["learner_token": .int(token)])
        _ = role.fenced(token)
        try? await lease.release(holder: holder, token: token)
        return false
    }

    /// Takes the training topic's new examples into the running learner and stores the dead
    /// letters of those it cannot learn; notices a fenced publication, and a version made live
    /// by an operator (the tenure starts again from it, keeping the lease).
    func feed(_ role: inout LearnerRole) async {
        guard let tenure = training.currentTenure else { return }
        if tenure.wasFenced {
            await perform(role.fenced(tenure.token))
            return
        }
        do { try await tenure.takeExamples() } catch {
            runtime.log.warning("reading the training topic failed; trying again at the next tick", ["error": .string("\(error)")])
        }
        await tenure.writeDeadLetters(lease)
        if let version = tenure.versionMadeLiveOutside(registry) {
            await tenure.writeDeadLetters(lease)
            await end(tenure.token, reason: "version \(version) was made live outside the learner", keepLease: true)
            await begin(tenure.token)
        }
    }

    /// The running learner's lag behind the training topic, for `vigil_learner_lag_examples`.
    func measureLag() async {
        guard let tenure = training.currentTenure, let lag = try? await tenure.lag() else { return }
        metrics.lag(lag)
    }

    func perform(_ action: LearnerRole.Action) async {
        switch action {
        case .none:
            return
        case .startLearning(let token):
            await begin(token)
        case .stopLearning(let token, let reason):
            await end(token, reason: reason)
        case .restartLearning(let old, let new):
            await end(old, reason: "the lease expired before it was renewed")
            await begin(new)
        }
    }

    private func begin(_ token: Int64) async {
        let r = runtime, c = r.configuration
        do {
            // Start from the live version in the database (the version poll may lag behind).
            _ = try await ModelStore(connection: lease.connection, schema: c.schema).follow(registry, compatibility: r.compatibility)
            let live = registry.currentVersion
            let topic = c.learner.trainingTopic
            // The live version's own positions; a version the group's learner did not publish
            // (a cold start, an operator's version trained elsewhere) resumes where the
            // group's latest publication left the topic, or at its beginning if none did.
            var stored = try await lease.positions(version: live, topic: topic)
            if stored.isEmpty, let latest = try await lease.latestPositions(topic: topic) { stored = latest.positions }
            var kafka = KafkaConsumerConfiguration(bootstrapServers: c.brokers, groupID: "\(c.groupID)-learner")
            kafka.clientID = "vigil-serve-learner"
            kafka.properties["log_level"] = String(r.log.librdkafkaLogLevel)
            kafka.logHandler = r.log.kafkaLogHandler
            kafka.properties["fetch.wait.max.ms"] = "10"
            for (key, value) in c.kafkaProperties { kafka.properties[key] = value }
            let consumer = try KafkaConsumer(configuration: kafka)
            var start: [Int32: Int64] = [:]
            var assignment: [KafkaTopicPartition: KafkaOffset] = [:]
            for partition in try await consumer.partitions(of: topic, timeout: .seconds(10)) {
                assignment[KafkaTopicPartition(topic: topic, partition: partition)] = stored[partition].map { .at($0) } ?? .beginning
                start[partition] = stored[partition] ?? 0
            }
            let tenure = try LearnerTenure(
                token: token, registry: registry, spec: c.featureSpec, configuration: c, start: start, consumer: consumer,
                store: LearnerLeaseStore(connection: training.connection, schema: c.schema, groupID: c.groupID), metrics: metrics, log: r.log,
                checkFinished: { [telemetry = r.telemetry] check, steps in
                    telemetry.recordTrainingRound(steps: steps)
                    // This instance's own promotion: the version poll will not report it.
                    if case .promoted = check.outcome { telemetry.liveModel(registry.current) }
                })
            let recalled = try await tenure.resume(assignment, recallDepth: c.trainer.fraudMemory + c.trainer.legitMemory)
            training.begin(tenure)
            metrics.tenureStarted(token: token)
            r.log.info("this instance is now the group's learner", [
                "learner_token": .int(token), "live_version": .int(live), "recalled_examples": .int(Int64(recalled)),
                "resumes_at": .string(start.sorted { $0.key < $1.key }.map { "\(topic)[\($0.key)]@\($0.value)" }.joined(separator: ",")),
            ])
        } catch {
            r.log.error("starting the learner failed", ["learner_token": .int(token), "error": .string("\(error)")])
        }
    }

    private func end(_ token: Int64, reason: String, keepLease: Bool = false) async {
        guard training.currentTenure != nil else { return }
        await training.endTenure()
        metrics.tenureEnded()
        runtime.log.info("this instance stopped learning for the group", ["learner_token": .int(token), "reason": .string(reason)])
        if !keepLease { try? await lease.release(holder: holder, token: token) }
    }
}
