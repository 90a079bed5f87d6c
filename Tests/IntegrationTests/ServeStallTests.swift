// A member stopped (SIGSTOP) for longer than max.poll.interval.ms, then continued (SIGCONT):
// the group moved its partitions to the other member meanwhile; the stalled one learns it
// lost them, rejoins and serves on. Neither exits, and every event is decided exactly once.
// (librdkafka reports the missed poll interval as an error, which used to stop serve.)
import Foundation
import Glibc
import Testing
import VigilKafka
import VigilPostgres
import VigilService

extension FaultSuites {
    @Suite struct ServeStallTests {
        @Test func aMemberStoppedPastMaxPollIntervalRejoinsAndNothingIsLostOrRepeated() async throws {
            let binary = try ServeCrashTests.vigilExecutable()
            // A broker of its own: the stopped member, its session timeout and its group's
            // rebalances stay off the stack's broker, which the other suites share.
            let tansu = try PrivateTansu()
            let brokers = tansu.brokers
            let topic = KafkaTestSupport.uniqueName("serve-stall")
            try KafkaTestSupport.createTopic(topic, partitions: 4, brokers: brokers)
            let target = try ServeTestSupport.migratedSchema()
            defer { ServeTestSupport.drop(target) }
            let messages = ServeTestSupport.simulatedMessages(5_000, topic: topic)
            _ = try await ServeTestSupport.seedModel(target, events: messages)
            let child = try ServeTestSupport.childSettings(schema: target.schema, topic: topic, group: KafkaTestSupport.uniqueName("g"),
                                                           extra: ["batch_size": 100, "kafka": ["max.poll.interval.ms": "8000"]], brokers: brokers)
            defer { try? FileManager.default.removeItem(at: child.folder) }
            func start() throws -> Process { try ServeTestSupport.startChild(binary, config: child.config, environment: child.environment) }
            let a = try start()
            let b = try start()
            defer { for p in [a, b] where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
            let s = quoteIdentifier(target.schema)
            func decided() throws -> Int64 { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") }

            try await ServeTestSupport.produce(Array(messages[..<2_500]), brokers: brokers)
            for _ in 0..<600 where try decided() < 800 { try await Task.sleep(for: .milliseconds(50)) }
            kill(a.processIdentifier, SIGSTOP)
            try await ServeTestSupport.produce(Array(messages[2_500...]), brokers: brokers)
            try await Task.sleep(for: .seconds(12))  // past max.poll.interval.ms (8 s) and the session timeout (6 s)
            kill(a.processIdentifier, SIGCONT)
            for _ in 0..<1_200 where try decided() < Int64(messages.count) { try await Task.sleep(for: .milliseconds(50)) }
            try await Task.sleep(for: .seconds(3))  // time for the stalled member to act on what it held
            #expect(a.isRunning, "the stalled member exited")
            #expect(b.isRunning, "the other member exited")
            for p in [a, b] { kill(p.processIdentifier, SIGTERM) }
            a.waitUntilExit()
            b.waitUntilExit()
            #expect(a.terminationStatus == 0 && b.terminationStatus == 0)
            try FaultSuites.ServeDatabaseFaultTests.expectExactlyOnce(target.schema, topic: topic, count: messages.count)
        }
    }
}
