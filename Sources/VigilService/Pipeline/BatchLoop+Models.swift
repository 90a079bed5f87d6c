// The batch loop's models: the set to start with (the live version, or the last usable one),
// the cold start of an empty registry (trained on a thread of its own while the loop keeps
// polling), and the rewind of every owned partition once the first set exists.
import Foundation
import Synchronization
import VigilEngine
import VigilFeatures
import VigilKafka

extension BatchLoop {
    func makeDecider(_ models: ModelSet, decoder: EventDecoder) throws -> BatchDecider {
        let c = runtime.configuration
        let extractor = try FeatureExtractor(spec: c.featureSpec, configuration: runtime.budget.share)
        let scorer = try RiskScorer(registry: ModelRegistry(initial: models), extractor: extractor)
        runtime.models.serve(scorer.registry)
        runtime.telemetry.liveModel(models)
        return try BatchDecider(scorer: scorer, policy: runtime.rules.policy, rules: runtime.rules, decoder: decoder,
                                spec: c.featureSpec, snapshotEvery: c.snapshotEvery, payloadLimit: c.deadLetterPayloadLimit,
                                retention: c.audit.retention)
    }

    /// The set to start with: the live version when it can be used here; else the most
    /// recently live version that can (degraded: /readyz and the adoption-failure counter
    /// say so, and ModelFollower moves on once a usable version is made live); nil for an
    /// empty registry (cold start). While versions exist but none can be used, it waits.
    func startupModels(decoder: EventDecoder) async throws -> BatchDecider? {
        let r = runtime
        let store = ModelStore(connection: r.connection, schema: r.configuration.schema)
        while !r.isStopping {
            guard let live = try await r.retryingDatabase("live model version", { try await store.liveVersion() }) else { return nil }
            do {
                let set = try await usable(live, store)
                r.log.info("loaded the promoted model set", ["version": .int(set.version)])
                return try makeDecider(set, decoder: decoder)
            } catch let refusal as ServiceError where refusal.code == .modelUnavailable {
                if r.models.refuse(live) {
                    r.telemetry.modelAdoption(failed: "live version \(live) cannot be used: \(refusal.message)")
                    r.log.error("the live model version cannot be used; looking for the last usable one",
                                ["version": .int(live), "reason": .string(refusal.message)])
                }
                let former = try await r.retryingDatabase("former model versions", { try await store.formerlyLiveVersions() })
                for version in former where !r.models.isRefused(version) {
                    guard let set = try? await usable(version, store) else { continue }
                    r.log.warning("scoring with the most recently live usable version until a usable one is made live",
                                  ["version": .int(set.version), "refused": .int(live)])
                    let decider = try makeDecider(set, decoder: decoder)
                    r.telemetry.modelAdoption(failed: "live version \(live) cannot be used: \(refusal.message); scoring with version \(set.version)")
                    return decider
                }
                r.log.error("no usable model version; waiting for one to be made live", ["refused": .int(live)])
                await r.pause(r.configuration.modelPollInterval)
            }
        }
        return nil
    }

    /// `version` loaded and checked against this spec, or `.modelUnavailable`.
    private func usable(_ version: Int64, _ store: ModelStore) async throws -> ModelSet {
        let r = runtime
        guard let set = try await r.retryingDatabase("load model \(version)", { try await store.load(version: version) }) else {
            throw ServiceError(.modelUnavailable, "version \(version) is not in \(r.configuration.schema).models")
        }
        if let problem = r.compatibility.problem(with: set) { throw ServiceError(.modelUnavailable, problem) }
        return set
    }

    /// Another instance stored the first model set while this one was collecting: use it.
    func adoptOthersColdStart(decoder: EventDecoder) async throws -> BatchDecider? {
        let r = runtime
        guard try await r.retryingDatabase("live model version", { try await ModelStore(connection: r.connection, schema: r.configuration.schema).liveVersion() }) != nil else {
            return nil
        }
        r.log.info("another instance stored the first model set")
        guard let decider = try await startupModels(decoder: EventDecoder()) else { return nil }
        try await rewind()
        return decider
    }

    /// Trains and stores the first model set from `events` once they are `minimum` (nil
    /// before that), then rewinds every owned partition to its stored state so the messages
    /// seen meanwhile are decided. Another instance may win the race; its set is used then.
    func finishColdStart(_ events: [TransactionEvent], decoder: EventDecoder, minimum: Int) async throws -> BatchDecider? {
        let r = runtime, c = r.configuration
        let store = ModelStore(connection: r.connection, schema: c.schema)
        if try await r.retryingDatabase("live model version", { try await store.liveVersion() }) != nil {
            r.log.info("another instance stored the first model set")
            guard let decider = try await startupModels(decoder: decoder) else { return nil }
            try await rewind()
            return decider
        }
        guard events.count >= minimum else {
            if minimum <= 64 {
                throw ServiceError(.coldStartStarved, "the stream went idle after \(events.count) valid events; a first model needs 64")
            }
            return nil
        }
        r.log.info("cold start: training the first model set", ["events": .int(Int64(events.count))])
        let started = ContinuousClock.now
        let trained = try await trainWhilePolling(events)
        let trainedAt = ContinuousClock.now
        let live = try await r.retryingDatabase("store the first model", { try await store.promoteFirst(trained) })
        r.log.info(live.version == trained.version && live.checksum == trained.checksum
                   ? "cold start: first model set stored" : "cold start: another instance stored the first model set first; using it",
                   ["version": .int(live.version), "events": .int(Int64(events.count)),
                    "training_ms": .int(Int64((trainedAt - started).seconds * 1000)), "storing_ms": .int(Int64((ContinuousClock.now - trainedAt).seconds * 1000))])
        let decider = try makeDecider(live, decoder: decoder)
        try await rewind()
        return decider
    }

    /// Trains the first model set on a thread of its own while the loop keeps polling, so the
    /// member stays in the group however long training takes (a loop blocked past
    /// max.poll.interval.ms loses its partitions). Messages polled meanwhile are dropped: the
    /// rewind after the cold start reads them again.
    private func trainWhilePolling(_ events: [TransactionEvent]) async throws -> ModelSet {
        let r = runtime, c = r.configuration
        let result = Mutex<Result<ModelSet, any Error>?>(nil)
        let spec = c.featureSpec, share = r.budget.share
        let thread = Thread {
            let outcome = Result { try ColdStart.train(events: events, spec: spec, state: share) }
            result.withLock { $0 = outcome }
        }
        thread.name = "vigil-cold-start"
        thread.start()
        while true {
            if let outcome = result.withLock({ $0 }) { return try outcome.get() }
            for message in try await r.consumer.pollAvailable(maxMessages: c.batchSize, timeout: .milliseconds(50)) {
                r.continuity.delivered(message.topicPartition, through: message.offset)
            }
            r.telemetry.loopIteration(modelsLoaded: false, ownedPartitions: r.ownership.owned.count)
        }
    }

    /// Every owned partition back to its stored state and start offset.
    func rewind() async throws {
        for partition in runtime.ownership.owned {
            try await restoreAndSeek(partition)
        }
    }

    func restoreAndSeek(_ partition: KafkaTopicPartition) async throws {
        let r = runtime
        let restoration = try await r.retryingDatabase("restore \(partition)") { try await r.restorer.restore(partition) }
        let start = r.ownership.assigned(partition, restoration)
        r.continuity.assigned(partition, committedNext: restoration.committedNext)
        guard !r.continuity.isHalted(partition) else { return }
        try await r.consumer.seek(partition, to: start)
    }
}
