// `vigil serve` as a child process with its metrics endpoint: /healthz and /readyz answer
// 200 while it serves, /metrics lists the documented names and its counters equal the
// events processed (and the run summary after SIGTERM).
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import Testing
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeMetricsTests {
    @Test func metricsHealthAndReadinessWhileServing() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-metrics")
        try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let count = 1_500
        let messages = ServeTestSupport.simulatedMessages(count, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        let version = try await ServeTestSupport.seedModel(target, events: messages)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let specFile = folder.appendingPathComponent("spec.json")
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: specFile)
        let port = try LoopbackPort.free()
        let config: [String: Any] = [
            "schema": target.schema, "topic": topic, "group": KafkaTestSupport.uniqueName("metrics"), "batch_size": 200,
            "feature_spec": specFile.path, "max_cards": ServeTestSupport.state.maxCards,
            "recent_events": ServeTestSupport.state.recentEvents, "metrics_port": port, "lag_interval_ms": 200,
        ]
        let configFile = folder.appendingPathComponent("serve.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_KAFKA_BROKERS"] = brokers
        environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
        if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }
        environment["VIGIL_METRICS_PORT"] = nil

        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--config", configFile.path, "--log-level", "warning"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Wait until every event is counted as consumed and committed (or the child exits).
        var metrics = ""
        for _ in 0..<600 where process.isRunning {
            if let text = try? await Self.get(port, "/metrics").body, Self.value(text, "vigil_events_consumed_total") == Double(count) {
                metrics = text
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Self.value(metrics, "vigil_events_consumed_total") == Double(count))
        let scored = Self.value(metrics, "vigil_events_scored_total") ?? -1
        let deadLettered = Self.value(metrics, "vigil_events_dead_lettered_total") ?? -1
        #expect(scored > 0 && scored + deadLettered == Double(count))
        #expect(Self.value(metrics, "vigil_model_version") == Double(version))
        let decided = ["allow", "review", "block"].compactMap { Self.value(metrics, #"vigil_decisions_total{decision="\#($0)"}"#) }
        #expect(decided.reduce(0, +) == scored)
        for name in ["vigil_batch_duration_seconds_count", "vigil_end_to_end_latency_seconds_count", "vigil_db_commit_duration_seconds_count"] {
            #expect((Self.value(metrics, name) ?? 0) > 0, "\(name)")
        }
        for name in ["vigil_events_consumed_total", "vigil_events_scored_total", "vigil_events_dead_lettered_total",
                     "vigil_labels_stored_total", "vigil_decisions_total", "vigil_alerts_total", "vigil_fenced_batches_total",
                     "vigil_batch_duration_seconds", "vigil_end_to_end_latency_seconds", "vigil_db_commit_duration_seconds",
                     "vigil_model_version", "vigil_model_swaps_total", "vigil_model_swap_duration_seconds",
                     "vigil_training_rounds_total", "vigil_training_steps_total"] {
            #expect(metrics.contains("# TYPE \(name) "), "missing \(name)")
        }
        // The lag gauges appear once the lag was asked (every 200 ms here), all drained to 0.
        var lagLines: [Substring] = []
        for _ in 0..<100 where process.isRunning {
            let text = (try? await Self.get(port, "/metrics").body) ?? ""
            lagLines = text.split(separator: "\n").filter { $0.hasPrefix("vigil_consumer_lag_messages{") }
            if lagLines.count == 2 && lagLines.allSatisfy({ $0.hasSuffix(" 0") }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(lagLines.count == 2)
        #expect(try await Self.get(port, "/healthz").status == 200)
        #expect(try await Self.get(port, "/readyz").status == 200)
        #expect(try await Self.get(port, "/nothing").status == 404)

        process.terminate()  // SIGTERM: drain, then the endpoint stops
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let summary = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(summary.split(separator: "\n").count == 1, "standard output carries only the summary line: \(summary)")
        #expect(summary.contains(#""decided":\#(Int(scored)),"dead_lettered":\#(Int(deadLettered))"#))
        #expect((try? await Self.get(port, "/healthz")) == nil)
    }

    /// The value of the sample line starting with `series` (name and labels), if any.
    static func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
