// librdkafka's log lines reach the application's handler (serve routes them to its logger)
// instead of standard error.
import Foundation
import Synchronization
import Testing
import VigilKafka

@Suite struct KafkaLogTests {
    @Test func librdkafkaLinesGoToTheLogHandler() async throws {
        let lines = Mutex<[KafkaLogMessage]>([])
        // Nothing listens on port 1: librdkafka logs its failed connection attempts.
        var config = KafkaConsumerConfiguration(bootstrapServers: ["127.0.0.1:1"], groupID: "log-\(UUID().uuidString)")
        config.properties["log_level"] = "7"
        config.properties["debug"] = "broker"
        config.logHandler = { line in lines.withLock { $0.append(line) } }
        let consumer = try KafkaConsumer(configuration: config)
        try consumer.subscribe(topics: ["t"])
        for _ in 0..<40 where lines.withLock({ $0.isEmpty }) {
            _ = try? await consumer.poll(maxMessages: 1, timeout: .milliseconds(100))
        }
        try await consumer.close()
        let seen = lines.withLock { $0 }
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { !$0.facility.isEmpty && $0.client.contains("#consumer-") })
    }
}
