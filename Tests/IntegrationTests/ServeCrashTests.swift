// `vigil serve` as a child process, killed with SIGKILL at five random points of a run and
// restarted, then stopped with SIGTERM: the rows equal one clean run's, 0 lost, 0 duplicated.
import Foundation
import Glibc
import Testing
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeCrashTests {
    @Test func killNineAndSigtermGiveTheRowsOfOneCleanRun() async throws {
        let binary = try Self.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("serve-crash")
        try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
        let clean = try ServeTestSupport.migratedSchema()
        let crashed = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(clean); ServeTestSupport.drop(crashed) }
        // The kills fall in the first 2,500 events; the rest is a long tail, so the SIGTERM
        // child has work left even when a loaded machine lets a killed child run far past
        // its kill point before the signal lands.
        let messages = ServeTestSupport.simulatedMessages(10_000, topic: topic)
        try await ServeTestSupport.produce(messages, brokers: brokers)
        _ = try await ServeTestSupport.seedModel(clean, events: messages)
        _ = try await ServeTestSupport.seedModel(crashed, events: messages)

        // The same settings for the in-process clean run and the child (through its config file).
        var cleanConfig = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("clean"), schema: clean.schema)
        cleanConfig.decisionPolicy.rules = []
        cleanConfig.snapshotEvery = 700
        _ = try await FraudPipeline(configuration: cleanConfig, log: .silent).run()

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let specFile = folder.appendingPathComponent("spec.json")
        try JSONEncoder().encode(ServeTestSupport.spec).write(to: specFile)
        let config: [String: Any] = [
            "schema": crashed.schema, "topic": topic, "group": KafkaTestSupport.uniqueName("crash"), "batch_size": 100,
            "snapshot_every": 700, "session_timeout_ms": 6000, "feature_spec": specFile.path,
            "max_cards": ServeTestSupport.state.maxCards, "recent_events": ServeTestSupport.state.recentEvents, "training": false,
        ]
        let configFile = folder.appendingPathComponent("serve.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configFile)
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_KAFKA_BROKERS"] = brokers
        environment["VIGIL_DATABASE_URL"] = try StackEnvironment.require("VIGIL_DATABASE_URL")
        if let passfile = StackEnvironment.value("PGPASSFILE") { environment["PGPASSFILE"] = passfile }

        let decisions = "SELECT count(*) FROM \(quoteIdentifier(crashed.schema)).decisions"
        func start(_ extra: [String]) throws -> Process {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["serve", "--config", configFile.path, "--log-level", "warning"] + extra
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        func waitForDecisions(above count: Int64, _ process: Process) async throws -> Bool {
            for _ in 0..<1_200 where process.isRunning {
                if try ServeTestSupport.scalar(decisions) > count { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        // Five crashes at random depths: one in each fifth of the first 2,500 events, at a
        // random point within it (the points are in any failure message).
        let thresholds = (0..<5).map { Int64($0 * 500 + Int.random(in: 50..<450)) }
        for threshold in thresholds {
            let child = try start([])
            #expect(try await waitForDecisions(above: threshold, child), "no progress past \(threshold) decisions (kill points \(thresholds))")
            #expect(child.isRunning, "vigil serve exited before it could be killed")
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal)
        }
        // A graceful stop: finishes the batch, commits, exits 0.
        // SIGTERM only once this child decided something itself: before its handler is
        // installed, SIGTERM's default action would end it (status 15), as for any process.
        let before = try ServeTestSupport.scalar(decisions)
        let stopped = try start([])
        #expect(try await waitForDecisions(above: max(before, 2_900) + 100, stopped), "the SIGTERM child made no progress past \(before)")
        kill(stopped.processIdentifier, SIGTERM)
        stopped.waitUntilExit()
        #expect(stopped.terminationStatus == 0)
        // The rest, until idle.
        let last = try start(["--exit-when-idle", "4s"])
        last.waitUntilExit()
        #expect(last.terminationStatus == 0)

        let expected = try ServeTestSupport.decisions(clean.schema, topic: topic)
        let actual = try ServeTestSupport.decisions(crashed.schema, topic: topic)
        #expect(expected.count == messages.count)
        #expect(actual.count == messages.count)
        for (a, e) in zip(actual, expected) {
            #expect(a.partition == e.partition && a.offset == e.offset && a.eventID == e.eventID)
            #expect(a.decision == e.decision && a.modelVersion == e.modelVersion)
            #expect(abs(a.risk - e.risk) <= 1e-5, "risk of \(a.eventID): \(a.risk) vs \(e.risk)")
        }
    }

    /// The `vigil` executable built next to the test bundle.
    static func vigilExecutable() throws -> URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("vigil")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fallback = root.appendingPathComponent(".build/debug/vigil")
        guard FileManager.default.isExecutableFile(atPath: fallback.path) else {
            throw StackUnavailable(variable: "the vigil executable (build it with swift build)")
        }
        return fallback
    }
}
