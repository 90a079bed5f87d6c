// `vigil gen --to kafka` on the local broker: every simulated transaction and label
// arrives on its topic, and an unreachable broker fails the run instead of hanging.
import Foundation
import KafkaBaseline
import Testing

@Suite("vigil gen to Kafka")
struct GenKafkaTests {
    @Test("2,000 transactions and all their labels arrive on their topics")
    func transactionsAndLabelsArrive() throws {
        let brokers = try StackEnvironment.require("VIGIL_KAFKA_BROKERS")
        let run = "gen-\(UUID().uuidString.prefix(8))"
        try KafkaBaseline.createTopic(brokers: brokers, topic: "\(run)-tx", partitions: 2)
        try KafkaBaseline.createTopic(brokers: brokers, topic: "\(run)-labels", partitions: 1)
        let result = try runGen(["--to", "kafka", "--brokers", brokers, "--transactions-topic", "\(run)-tx",
                                 "--labels-topic", "\(run)-labels", "--events", "2000", "--label-delay-hours", "0",
                                 "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["transactions"] as? Int == 2000)
        let labels = try #require(summary["labels"] as? Int)
        #expect(labels > 0)

        let transactions = try KafkaBaseline.consume(brokers: brokers, topic: "\(run)-tx", partitions: 2, expected: 2000, timeout: 60)
        #expect(transactions.messages == 2000)
        let labelRun = try KafkaBaseline.consume(brokers: brokers, topic: "\(run)-labels", partitions: 1, expected: labels, timeout: 60)
        #expect(labelRun.messages == labels)
    }

    @Test("an unreachable broker fails the run with a clear error instead of hanging")
    func unreachableBroker() throws {
        let result = try runGen(["--to", "kafka", "--brokers", "127.0.0.1:1", "--events", "5", "--quiet",
                                 "--message-timeout-ms", "2000"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("not delivered"))
    }

    private func runGen(_ arguments: [String]) throws -> ChildProcessResult {
        try ChildProcess.vigil(["gen"] + arguments)
    }
}
