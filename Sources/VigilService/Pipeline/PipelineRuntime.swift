// The parts of one `vigil serve` that its services share: settings, logs and metrics, the
// consumer, the sink's connection and writer, partition ownership and offset continuity, the
// models. Built by FraudPipeline before the ServiceGroup starts; nothing here starts work.
import Synchronization
import VigilKafka
import VigilPostgres

struct PipelineRuntime: Sendable {
    let configuration: ServeConfiguration
    let log: ServiceLog
    let telemetry: ServiceTelemetry
    let consumer: KafkaConsumer
    /// The batch loop's connection (sink, restores, stored offsets).
    let connection: PostgresConnection
    let ownership: PartitionOwnership
    let continuity: OffsetContinuity
    let restorer: PartitionRestorer
    let writer: AuditWriter
    /// Batches on their way through `writer`, one in writing while the next is decided.
    let handOver: AuditHandOver
    let models: ServingModels
    /// The rule set in force (stored rules on top of the configuration file's) and its metrics.
    let rules: ServingRules
    let compatibility: ModelCompatibility
    let rebalances: RebalanceCounter
    let gate: ConsumerGate
    let budget: StateBudget
    let stop: StopSignal
    /// Synchronous scoring requests waiting for the loop (nil: `--api` off).
    var scoring: ScoringQueue? = nil
    /// Decisions already stored, by event id, for repeated scoring requests (nil: `--api` off).
    var storedDecisions: StoredDecisions? = nil

    /// The run is ending: a StopSignal (tests, benchmarks), the calling service's own
    /// graceful shutdown (SIGTERM through the ServiceGroup), or cancellation.
    var isStopping: Bool { stop.isStopped || Task.isShuttingDownGracefully || Task.isCancelled }
}

extension PipelineRuntime {
    /// Sleeps `duration` in short slices; false when the run started stopping meanwhile.
    @discardableResult
    func pause(_ duration: Duration) async -> Bool {
        await Self.sleep(duration, unless: { isStopping })
    }

    /// The helper services' pause: only their own graceful shutdown (or cancellation) ends it.
    /// A helper must not return while another service is shutting down (the ServiceGroup
    /// takes that for a failure), so helpers ignore the batch loop's stop signal.
    func idle(_ duration: Duration) async -> Bool {
        await Self.sleep(duration, unless: { Task.isShuttingDownGracefully || Task.isCancelled })
    }

    private static func sleep(_ duration: Duration, unless stopping: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + duration
        while !stopping() {
            let left = end - .now
            guard left > .zero else { return true }
            try? await Task.sleep(for: min(left, .milliseconds(100)))
        }
        return false
    }

    /// Runs `body` until it succeeds, retrying transient database errors (connection lost,
    /// failover, 57P0x, lock or statement timeouts) with capped, jittered backoff. Other
    /// errors, and any error once the run is stopping, are thrown.
    func retryingDatabase<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                let value = try await body()
                if attempt > 0 {
                    telemetry.databaseRecovered()
                    log.info("database reachable again", ["operation": .string(what), "attempts": .int(Int64(attempt + 1))])
                }
                return value
            } catch where DatabaseFaults.isTransient(error) {
                attempt += 1
                let wait = configuration.databaseRetry.wait(afterAttempt: attempt, unit: Double.random(in: 0..<1))
                telemetry.databaseRetry()
                log.warning("database unavailable; retrying", ["operation": .string(what), "attempt": .int(Int64(attempt)),
                                                               "wait_ms": .int(Int64(wait.seconds * 1000)), "error": .string("\(error)")])
                guard await pause(wait) else { throw error }
            }
        }
    }
}

/// Which database errors a retry can cure.
public enum DatabaseFaults {
    public static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let error as PostgresError:
            // 57014: statement_timeout (a stuck statement was ended) or a cancel request.
            return error.isRetriable || error.code == .queryCancelled || error.sqlState == "57014"
        case let error as ServiceError:
            return error.isRetriable
        default:
            return false
        }
    }
}

/// Lets the lag monitor query the consumer only while it is open: the batch loop closes the
/// gate (waiting for a query in flight) before it closes the consumer.
final class ConsumerGate: Sendable {
    private let state = Mutex<(inUse: Int, closed: Bool)>((0, false))

    /// Runs `body` unless the gate is closed (then nil).
    func whileOpen<T: Sendable>(_ body: () async throws -> T) async rethrows -> T? {
        let entered = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.inUse += 1
            return true
        }
        guard entered else { return nil }
        defer { state.withLock { $0.inUse -= 1 } }
        return try await body()
    }

    func close() async {
        state.withLock { $0.closed = true }
        while state.withLock({ $0.inUse }) > 0 { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
