// The message load the Kafka benchmarks share (smoke, kafka), so their figures stay comparable.
import ArgumentParser

struct KafkaWorkload: ParsableArguments {
    @Option(help: "Messages to produce and consume.")
    var messages = 1_000_000

    @Option(help: "Payload size in bytes.")
    var size = 200

    @Option(help: "Partitions of the benchmark topic.")
    var partitions = 4

    func validate() throws {
        guard messages > 0, partitions > 0, size >= 8 else {
            throw ValidationError("--messages and --partitions must be positive and --size at least 8")
        }
    }
}
