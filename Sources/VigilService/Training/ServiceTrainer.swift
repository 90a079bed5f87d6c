// Learning while serving: the pipeline hands scored vectors (BatchDecider) and stored labels
// (polled from `labels` by id, so stream labels and analyst dispositions both arrive) to an
// OnlineTrainer learning on its own thread. A challenger that passes the guard is stored in
// `models` under a version the database allocates, promoted there, and swapped into the
// local registry; other instances follow it through their live-version poll.
import Dispatch
import Foundation
import Synchronization
import VigilEngine
import VigilFeatures
import VigilPostgres

public final class ServiceTrainer: Sendable {
    public let trainer: OnlineTrainer
    let connection: PostgresConnection
    let schema: String
    /// The last `labels.label_id` handed to the trainer.
    private let lastLabelID = Mutex<Int64?>(nil)

    /// - Parameters:
    ///   - connection: a connection of the trainer's own (used from the training thread).
    ///   - roundFinished: told of every round (the service counts them in its metrics).
    init(registry: ModelRegistry, spec: FeatureSpec, configuration: ServeConfiguration, connection: PostgresConnection,
         log: ServiceLog, checkFinished: @escaping @Sendable (PublicationCheck, _ steps: Int) -> Void = { _, _ in }) throws {
        let extractor = try FeatureExtractor(spec: spec, configuration: configuration.featureState)
        let schema = configuration.schema
        self.connection = connection
        self.schema = schema
        let catalog = ModelCatalog(connection: connection, schema: schema)
        let steps = Mutex(0)
        let trainerBox = Mutex<OnlineTrainer?>(nil)
        let made = try OnlineTrainer(
            registry: registry, featureWidth: extractor.denseCount, sparseWidth: extractor.sparseCount,
            configuration: configuration.trainer,
            log: { check in
                var fields: [String: LogValue] = ["check": .int(Int64(check.number)), "live_version": .int(check.liveVersion),
                                                  "labels_learnt": .int(Int64(check.labelsLearnt))]
                if let verdict = check.verdict { fields["guard"] = .string(verdict.summary) }
                // Rejections are the common case (every 1,000 labels): debug, not info.
                if check.outcome == .rejected { log.debug(check.summary, fields) } else { log.info(check.summary, fields) }
                let total = trainerBox.withLock { $0 }.map { $0.classifierSteps + $0.autoencoderSteps } ?? 0
                let new = steps.withLock { s in defer { s = total }; return max(total - s, 0) }
                checkFinished(check, new)
            },
            persist: { build in
                let set = try Self.publish(build, catalog: catalog, schema: schema)
                Self.applyRetention(configuration.modelRetentionVersions, catalog: catalog, log: log)
                return set
            })
        trainerBox.withLock { $0 = made }
        trainer = made
    }

    /// Allocates max(version)+1 in the database, stores the set there and promotes it. Two
    /// instances racing for one number collide on the primary key; the loser takes the next.
    static func publish(_ build: (Int64) throws -> ModelSet, catalog: ModelCatalog, schema: String) throws -> ModelSet {
        let s = quoteIdentifier(schema)
        for _ in 0..<8 {
            let version = try blocking {
                try await catalog.connection.query("SELECT coalesce(max(version), 0) + 1 FROM \(s).models").first
                    .map { try $0.decode(0, as: Int64.self) } ?? 1
            }
            let set = try build(version)
            // An operator's `vigil models promote/rollback` during the round wins over the candidate.
            let live = try blocking { try await ModelStore(connection: catalog.connection, schema: schema).liveVersion() }
            guard live == set.parent else {
                throw ServiceError(.modelUnavailable, "the live version changed to \(live.map(String.init) ?? "none") while training on \(set.parent.map(String.init) ?? "none"); candidate dropped")
            }
            do {
                try blocking { try await catalog.store(set, note: "online training") }
            } catch let error as PostgresError where error.sqlState == "23505" {
                continue  // another instance took this version
            }
            try blocking { try await catalog.promote(set.version) }
            return set
        }
        throw ServiceError(.modelUnavailable, "could not allocate a model version in \(schema).models after 8 attempts", isRetriable: true)
    }

    /// Prunes the weights of versions beyond the newest `keep` (0: none). A failure is logged
    /// and tried again at the next publication: the version is already live.
    static func applyRetention(_ keep: Int, catalog: ModelCatalog, log: ServiceLog) {
        guard keep > 0 else { return }
        do {
            let pruned = try blocking { try await catalog.pruneWeights(keeping: keep) }
            if pruned > 0 { log.info("pruned the weights of old model versions", ["pruned": .int(Int64(pruned)), "kept": .int(Int64(keep))]) }
        } catch {
            log.warning("pruning old model versions' weights failed; trying again at the next publication", ["error": .string("\(error)")])
        }
    }

    /// Runs `body` on the cooperative pool and waits for it; only for the trainer's own thread.
    @discardableResult
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let r: Result<T, any Error>
            do { r = .success(try await body()) } catch { r = .failure(error) }
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }

    func start() async throws {
        try await connection.connect()
        // Labels stored before this run belong to events this process never scored.
        let max = try await connection.query("SELECT coalesce(max(label_id), 0) FROM \(quoteIdentifier(schema)).labels").first
            .map { try $0.decode(0, as: Int64.self) } ?? 0
        lastLabelID.withLock { $0 = max }
        trainer.start()
    }

    /// Hands labels stored since the last poll to the trainer (read through `pipeline`'s
    /// connection, between batches). Returns how many were new.
    @discardableResult
    func pollLabels(_ pipeline: PostgresConnection) async throws -> Int {
        guard let after = lastLabelID.withLock({ $0 }) else { return 0 }
        let rows = try await pipeline.query("""
            SELECT label_id, event_id, label = 'fraud', (extract(epoch FROM labeled_at) * 1000)::bigint
            FROM \(quoteIdentifier(schema)).labels WHERE label_id > $1 ORDER BY label_id LIMIT 10000
            """, [.int64(after)])
        var last = after
        for row in rows {
            last = try row.decode(0, as: Int64.self)
            trainer.record(label: LabelEvent(eventID: try row.decode(1), isFraud: try row.decode(2), timestampMillis: try row.decode(3)))
        }
        lastLabelID.withLock { $0 = last }
        return rows.count
    }

    /// Stops the training thread (after its current round) without blocking the pool.
    func stop() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread { [trainer] in
                trainer.stop()
                done.resume()
            }
            thread.name = "vigil-trainer-stop"
            thread.start()
        }
        await connection.close()
    }
}
