// Health and readiness rules, telemetry settings, and the metric names and per-batch counts
// of ServiceTelemetry: no servers.
import Foundation
import Testing
import VigilEngine
@testable import VigilKafka
@testable import VigilService

@Suite struct TelemetryTests {
    let t0 = ContinuousClock.now

    func ready() -> HealthState {
        var s = HealthState()
        s.lastLoopAt = t0
        s.modelsLoaded = true
        s.ownedPartitions = 2
        s.databaseReachable = true
        return s
    }

    @Test func livenessNeedsARecentLoopIteration() {
        #expect(!HealthState().liveness(now: t0, stallLimit: .seconds(60)).ok)
        let s = ready()
        #expect(s.liveness(now: t0 + .seconds(59), stallLimit: .seconds(60)).ok)
        let stuck = s.liveness(now: t0 + .seconds(61), stallLimit: .seconds(60))
        #expect(!stuck.ok)
        #expect(stuck.body.contains("has not completed an iteration"))
    }

    @Test func readinessNeedsModelsPartitionsAndTheDatabase() {
        #expect(ready().readiness(now: t0, stallLimit: .seconds(60)).ok)
        var s = ready(); s.modelsLoaded = false
        #expect(s.readiness(now: t0, stallLimit: .seconds(60)).problems == ["no model set loaded yet (cold start)"])
        s = ready(); s.ownedPartitions = 0
        #expect(!s.readiness(now: t0, stallLimit: .seconds(60)).ok)
        s = ready(); s.databaseReachable = false
        #expect(!s.readiness(now: t0, stallLimit: .seconds(60)).ok)
        s = ready(); s.stopping = true
        #expect(!s.readiness(now: t0, stallLimit: .seconds(60)).ok)
        // A stuck loop is not ready either, even with everything else in place.
        #expect(!ready().readiness(now: t0 + .seconds(120), stallLimit: .seconds(60)).ok)
    }

    @Test func telemetryReportsMoveTheHealthState() {
        let telemetry = ServiceTelemetry()
        #expect(!telemetry.readiness().ok)
        telemetry.databaseConnected()
        telemetry.loopIteration(modelsLoaded: true, ownedPartitions: 1)
        #expect(telemetry.liveness().ok)
        #expect(telemetry.readiness().ok)
        telemetry.batchFailed()
        #expect(!telemetry.readiness().ok)
        telemetry.databaseConnected()
        telemetry.stopping()
        #expect(!telemetry.readiness().ok)
    }

    @Test func settingsComeFromFileEnvironmentAndAreValidated() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-telemetry-\(UUID()).json")
        try Data(#"{"brokers":"b:9092","metrics_port":9999,"metrics_address":"0.0.0.0","health_stall_ms":5000}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var c = try ServeConfiguration.load(file: file.path, environment: [:])
        #expect(c.telemetry.port == 9999 && c.telemetry.address == "0.0.0.0" && c.telemetry.stallLimit == .seconds(5))
        c = try ServeConfiguration.load(file: file.path, environment: ["VIGIL_METRICS_PORT": "0"])
        #expect(!c.telemetry.isEnabled)
        #expect(throws: ServiceError.self) { try ServeConfiguration.load(file: nil, environment: ["VIGIL_METRICS_PORT": "x"]) }
        c.telemetry.port = 70_000
        #expect(throws: ServiceError.self) { try c.validate() }
        #expect(ServeConfiguration().telemetry.port == 9464 && ServeConfiguration().telemetry.address == "127.0.0.1")
    }

    @Test func exposesTheDocumentedNamesAndCountsPerBatch() throws {
        let telemetry = ServiceTelemetry()
        let tp = KafkaTopicPartition(topic: "tx", partition: 3)
        var batch = AuditBatch()
        batch.deadLetters.append(AuditBatch.DeadLetter(partition: tp, offset: 1, key: nil, payload: [], reasonCode: "malformed_json", reason: "x"))
        telemetry.batchCommitted(batch, consumed: 5, timestamps: [], total: .milliseconds(3), commit: .milliseconds(1))
        telemetry.batchFenced(consumed: 2)
        let rows = (0..<(64 * 4)).map { Float($0 % 7) / 7 }
        let set = try ModelSet.coldStart(featureSpecHash: 1, featureWidth: 4, sparseDimension: 16, warmUpRows: rows, count: 64,
                                         epochs: 1, version: 7, createdAtMillis: 1_700_000_000_000)
        telemetry.modelSwapped(to: set, took: .milliseconds(20))
        telemetry.recordTrainingRound(steps: 40)
        telemetry.consumerLag([KafkaPartitionLag(partition: tp, position: 10, low: 0, high: 25)])
        let text = String(decoding: telemetry.exposition(), as: UTF8.self)
        for line in ["vigil_events_consumed_total 7", "vigil_events_dead_lettered_total 1", "vigil_events_scored_total 0",
                     "vigil_fenced_batches_total 1", "vigil_model_version 7.0", "vigil_model_swaps_total 1",
                     "vigil_model_created_timestamp_seconds 1700000000.0",
                     "vigil_training_rounds_total 1", "vigil_training_steps_total 40",
                     #"vigil_consumer_lag_messages{topic="tx",partition="3"} 15.0"#] {
            #expect(text.contains(line + "\n"), "missing \(line)")
        }
        for name in TelemetryTests.documentedNames {
            #expect(text.contains("# TYPE \(name) "), "missing \(name)")
        }
        // A partition that is no longer assigned leaves the exposition.
        telemetry.consumerLag([])
        #expect(!String(decoding: telemetry.exposition(), as: UTF8.self).contains("vigil_consumer_lag_messages{"))
    }

    /// The names docs/serve.md lists (dashboards and alerts reference exactly these).
    static let documentedNames = [
        "vigil_events_consumed_total", "vigil_events_scored_total", "vigil_events_dead_lettered_total", "vigil_labels_stored_total",
        "vigil_decisions_total", "vigil_alerts_total", "vigil_fenced_batches_total", "vigil_batch_duration_seconds",
        "vigil_end_to_end_latency_seconds", "vigil_db_commit_duration_seconds", "vigil_model_version", "vigil_model_swaps_total",
        "vigil_model_created_timestamp_seconds", "vigil_model_swap_duration_seconds", "vigil_training_rounds_total", "vigil_training_steps_total",
    ]
}
