// `tools/bench smoke`: the raw librdkafka consume rate on this machine, the limit
// later Kafka benchmarks are measured against.
import ArgumentParser
import Foundation
import KafkaBaseline

struct SmokeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smoke",
        abstract: "Consume messages from the local broker with a plain C-level librdkafka loop."
    )

    @OptionGroup var workload: KafkaWorkload
    var messages: Int { workload.messages }
    var size: Int { workload.size }
    var partitions: Int { workload.partitions }

    func run() throws {
        let brokers = try BenchReport.environment("VIGIL_KAFKA_BROKERS")
        let topic = "bench-smoke-\(UUID().uuidString.prefix(8))"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
        print("topic \(topic): \(partitions) partitions on \(brokers)")
        let produced = try KafkaBaseline.produce(brokers: brokers, topic: topic, count: messages, payloadSize: size)
        print("produced \(produced.messages) x \(size) B in \(String(format: "%.2f", produced.seconds)) s: \(BenchReport.rate(produced.messagesPerSecond))")
        let consumed = try KafkaBaseline.consume(brokers: brokers, topic: topic, partitions: partitions, expected: messages)
        guard consumed.messages == messages else {
            throw ValidationError("consumed \(consumed.messages) of \(messages) messages")
        }
        let mbPerSecond = Double(consumed.bytes) / consumed.seconds / 1e6
        print("consumed \(consumed.messages) in \(String(format: "%.2f", consumed.seconds)) s: \(BenchReport.rate(consumed.messagesPerSecond)), \(String(format: "%.1f", mbPerSecond)) MB/s (raw librdkafka loop)")
        try BenchReport.finish([
            "bench": "smoke",
            "messages": messages,
            "payload_bytes": size,
            "baseline_per_s": consumed.messagesPerSecond.rounded(),
            "produce_per_s": produced.messagesPerSecond.rounded(),
        ])
    }
}
