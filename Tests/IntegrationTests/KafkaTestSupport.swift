// Shared pieces of the VigilKafka integration tests: unique topics on the local
// broker, a private Tansu broker that tests may stop and restart, and polling helpers.
import Foundation
import Glibc
import KafkaBaseline
import Synchronization
import VigilKafka

enum KafkaTestSupport {
    static func brokers() throws -> String { try StackEnvironment.require("VIGIL_KAFKA_BROKERS") }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    static func createTopic(_ topic: String, partitions: Int, brokers: String) throws {
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
    }

    /// A consumer configuration with the short session timeout Tansu needs for quick joins.
    static func consumerConfiguration(brokers: String, group: String) -> KafkaConsumerConfiguration {
        var config = KafkaConsumerConfiguration(bootstrapServers: [brokers], groupID: group)
        config.sessionTimeout = .seconds(6)
        config.maxPollInterval = .seconds(10)
        config.properties["log_level"] = "3"
        return config
    }

    static func producer(brokers: String, messageTimeout: Duration = .seconds(15)) throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(bootstrapServers: [brokers])
        config.messageTimeout = messageTimeout
        config.properties["log_level"] = "2"
        return try KafkaProducer(configuration: config)
    }

    /// The value of message `index` of a partition: its index as 8 big-endian bytes.
    static func value(_ index: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(index).bigEndian) { Array($0) } }
    static func index(of value: ArraySlice<UInt8>) -> Int {
        value.reduce(0) { $0 << 8 | Int($1) }
    }

    /// Sends `count` messages to each listed partition (values 0..<count) and waits for delivery.
    static func produce(_ producer: KafkaProducer, topic: String, partitions: [Int32], range: Range<Int>) async throws {
        for index in range {
            for partition in partitions {
                while true {
                    do {
                        try producer.send(KafkaProducerMessage(topic: topic, partition: partition, value: value(index)))
                        break
                    } catch let error as KafkaError where error.code == .queueFull {
                        try await Task.sleep(for: .milliseconds(5))
                    }
                }
            }
        }
        try await producer.flush(timeout: .seconds(60))
    }

    /// Polls until `count` messages arrived or `maxPolls` polls of 100 ms came back empty in a row.
    static func poll(_ consumer: KafkaConsumer, count: Int, maxIdlePolls: Int = 150) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        var idle = 0
        while messages.count < count && idle < maxIdlePolls {
            let batch = try await consumer.poll(maxMessages: min(5_000, count - messages.count), timeout: .milliseconds(100))
            idle = batch.isEmpty ? idle + 1 : 0
            messages += batch
        }
        return messages
    }
}

/// A Tansu broker of the test's own, on a free port, with in-memory storage: stopping it
/// loses its topics. Never the shared broker.
final class PrivateTansu: @unchecked Sendable {  // used by one test task at a time
    let port: Int
    private var process: Process?

    var brokers: String { "127.0.0.1:\(port)" }

    init() throws {
        port = try LoopbackPort.free()
        try start()
    }

    deinit { stop() }

    func start() throws {
        let binary = StackEnvironment.value("VIGIL_TANSU_BIN") ?? "/usr/local/bin/tansu"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(port)",
                             "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                             "--storage-engine", "memory://tansu/", "--silent"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<100 where !LoopbackPort.accepts(port) {
            usleep(50_000)
        }
        guard LoopbackPort.accepts(port) else { throw KafkaTestFailure("tansu did not listen on port \(port)") }
    }

    func stop() {
        guard let process, process.isRunning else { return }
        // Tansu ignores SIGTERM; SIGKILL also makes the stop abrupt, like a crash.
        kill(process.processIdentifier, SIGKILL)
        kill(process.processIdentifier, SIGCONT)
        process.waitUntilExit()
        self.process = nil
    }

    /// Freezes the broker process (SIGSTOP): connections stay open but nothing answers, as
    /// with a hung or partitioned broker. Its in-memory topics survive, unlike a restart.
    func freeze() {
        if let process { kill(process.processIdentifier, SIGSTOP) }
    }

    func thaw() {
        if let process { kill(process.processIdentifier, SIGCONT) }
    }
}

struct KafkaTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
