// The broker's share of event-to-decision latency, measured alone: a producer at a steady
// rate and a consumer that does nothing but poll, with the client settings serve uses. No
// pipeline can deliver an event faster than this, so the e2e latency is printed next to it.
import ArgumentParser
import Foundation
import KafkaBaseline
import VigilKafka

/// Kafka timestamp → poll latency of a bare consumer, in milliseconds.
struct DeliveryFloor {
    var p50: Double
    var p99: Double
    var count: Int

    /// Produces `rate` messages/s for `seconds` into a fresh topic and polls them with
    /// `pollAvailable` (manual assignment, so no group join) using `consumerProperties`
    /// (serve's `fetch.wait.max.ms` and anything else the caller sets).
    static func measure(brokers: String, topic: String, partitions: Int, rate: Int, seconds: Int,
                        linger: Duration, consumerProperties: KafkaProperties,
                        payloads: [(key: [UInt8], value: [UInt8])]) async throws -> DeliveryFloor {
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
        var consumerConfig = KafkaConsumerConfiguration(bootstrapServers: [brokers], groupID: topic + "-floor")
        consumerConfig.properties = consumerProperties
        let consumer = try KafkaConsumer(configuration: consumerConfig)
        var start: [KafkaTopicPartition: KafkaOffset] = [:]
        for p in 0..<partitions { start[KafkaTopicPartition(topic: topic, partition: Int32(p))] = .beginning }
        try await consumer.assign(start)
        let total = rate * seconds
        let polling = Task {
            var delays: [Double] = []
            delays.reserveCapacity(total)
            let deadline = ContinuousClock.now + .seconds(seconds + 15)
            while delays.count < total && ContinuousClock.now < deadline {
                let messages = try await consumer.pollAvailable(maxMessages: 10_000, timeout: .milliseconds(100))
                let polledAt = Date().timeIntervalSince1970 * 1000
                for m in messages { if let t = m.timestampMilliseconds { delays.append(polledAt - Double(t)) } }
            }
            return delays
        }
        try await Task.sleep(for: .seconds(1))  // the first fetch of the fresh assignment
        var producerConfig = KafkaProducerConfiguration(bootstrapServers: [brokers])
        producerConfig.linger = linger
        let producer = try KafkaProducer(configuration: producerConfig)
        try await SteadyProducer.send(total, rate: rate, topic: topic, payloads: payloads, producer: producer)
        try await producer.close(timeout: .seconds(30))
        let delays = try await polling.value.sorted()
        try await consumer.close()
        guard !delays.isEmpty else { throw ValidationError("the delivery probe received nothing") }
        return DeliveryFloor(p50: EngineBenchmarkSupport.percentile(delays, 0.5), p99: EngineBenchmarkSupport.percentile(delays, 0.99),
                             count: delays.count)
    }
}

/// Sends `total` payloads at `rate` per second (in 1 ms steps), cycling through `payloads`.
enum SteadyProducer {
    static func send(_ total: Int, rate: Int, topic: String, payloads: [(key: [UInt8], value: [UInt8])],
                     producer: KafkaProducer) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        var sent = 0
        while sent < total {
            let due = Int(Double(rate) * (clock.now - start).seconds)
            while sent < min(due, total) {
                let p = payloads[sent % payloads.count]
                try producer.send(KafkaProducerMessage(topic: topic, key: p.key, value: p.value))
                sent += 1
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// `tools/bench delivery`: the broker's delivery latency alone at a steady rate, for the
/// client settings serve would use; e2e prints its latency next to this floor.
struct DeliveryBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery",
        abstract: "Kafka timestamp → poll latency of a bare consumer at a steady rate: the floor under serve's latency."
    )

    @Option(help: "Messages per second.") var rate = 10_000
    @Option(help: "Seconds to produce.") var seconds = 5
    @Option(help: "Partitions of the probe topic.") var partitions = 4
    @Option(help: "Producer linger.ms.") var lingerMs = 1
    @Option(help: "Consumer fetch.wait.max.ms (serve's default: 10).") var fetchWaitMs = 10

    func run() async throws {
        let brokers = try BenchReport.environment("VIGIL_KAFKA_BROKERS")
        let payloads = (0..<1_000).map { i in (key: Array("card-\(i)".utf8), value: [UInt8](repeating: UInt8(ascii: "x"), count: 200)) }
        let topic = "bench-delivery-\(UUID().uuidString.prefix(8).lowercased())"
        let floor = try await DeliveryFloor.measure(brokers: brokers, topic: topic, partitions: partitions, rate: rate, seconds: seconds,
                                                    linger: .milliseconds(lingerMs),
                                                    consumerProperties: ["fetch.wait.max.ms": String(fetchWaitMs)], payloads: payloads)
        print("delivery at \(rate)/s (linger.ms \(lingerMs), fetch.wait.max.ms \(fetchWaitMs)): p50 \(String(format: "%.2f", floor.p50)) ms, p99 \(String(format: "%.2f", floor.p99)) ms over \(floor.count) messages (serve's target p99 < 5 ms end to end)")
        try BenchReport.finish([
            "bench": "delivery", "rate_per_s": rate, "linger_ms": lingerMs, "fetch_wait_ms": fetchWaitMs,
            "p50_ms": (floor.p50 * 100).rounded() / 100, "p99_ms": (floor.p99 * 100).rounded() / 100, "messages": floor.count,
            "target_p99_ms": 5,
        ])
    }
}
