// `tools/bench kafka`: VigilKafka's batch poll against the plain C librdkafka loop
// (KafkaBaseline.consume) over the same topic in the same run, and VigilKafka's
// producer against KafkaBaseline.produce.
import ArgumentParser
import Foundation
import KafkaBaseline
import VigilKafka

struct KafkaBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Consume and produce through VigilKafka, next to the plain librdkafka loops."
    )

    @OptionGroup var workload: KafkaWorkload
    var messages: Int { workload.messages }
    var size: Int { workload.size }
    var partitions: Int { workload.partitions }

    @Option(help: "Messages per VigilKafka poll.")
    var batch = 10_000

    @Option(help: "Consume rounds per client (the best round counts).")
    var rounds = 3

    func validate() throws {
        guard batch > 0, rounds > 0 else {
            throw ValidationError("--batch and --rounds must be positive")
        }
    }

    func run() async throws {
        let brokers = try BenchReport.environment("VIGIL_KAFKA_BROKERS")
        let prefix = "bench-kafka-\(UUID().uuidString.prefix(8))"
        let topic = "\(prefix)-vigil"
        let baselineTopic = "\(prefix)-baseline"
        try KafkaBaseline.createTopic(brokers: brokers, topic: topic, partitions: partitions)
        try KafkaBaseline.createTopic(brokers: brokers, topic: baselineTopic, partitions: partitions)
        print("topics \(topic), \(baselineTopic): \(partitions) partitions on \(brokers)")

        let produced = try await produce(brokers: brokers, topic: topic)
        print("VigilKafka produced \(messages) x \(size) B: \(BenchReport.rate(produced))")
        let baselineProduced = try KafkaBaseline.produce(brokers: brokers, topic: baselineTopic, count: messages, payloadSize: size)
        print("baseline   produced \(messages) x \(size) B: \(BenchReport.rate(baselineProduced.messagesPerSecond))")

        // Wall-clock rates swing with whatever else runs on the machine, so each consume is also
        // measured in this process's CPU time (both clients run in this process; the broker not).
        var best = 0.0
        var bestBaseline = 0.0
        var bestCPU = 0.0
        var bestBaselineCPU = 0.0
        for round in 1...rounds {
            let baselineCPUStart = processCPUSeconds()
            let baseline = try KafkaBaseline.consume(brokers: brokers, topic: topic, partitions: partitions, expected: messages)
            let baselineCPU = Double(messages) / (processCPUSeconds() - baselineCPUStart)
            guard baseline.messages == messages else {
                throw ValidationError("baseline consumed \(baseline.messages) of \(messages) messages")
            }
            let vigilCPUStart = processCPUSeconds()
            let vigil = try await consume(brokers: brokers, topic: topic)
            let vigilCPU = Double(messages) / (processCPUSeconds() - vigilCPUStart)
            print("round \(round): baseline \(BenchReport.rate(baseline.messagesPerSecond)) (\(BenchReport.rate(baselineCPU)) per CPU-s), "
                  + "VigilKafka \(BenchReport.rate(vigil)) (\(BenchReport.rate(vigilCPU)) per CPU-s)")
            bestBaseline = max(bestBaseline, baseline.messagesPerSecond)
            best = max(best, vigil)
            bestBaselineCPU = max(bestBaselineCPU, baselineCPU)
            bestCPU = max(bestCPU, vigilCPU)
        }
        let ratio = best / bestBaseline
        let cpuRatio = bestCPU / bestBaselineCPU
        print("consume: VigilKafka \(BenchReport.rate(best)) vs plain librdkafka \(BenchReport.rate(bestBaseline)): ratio \(String(format: "%.2f", ratio)) (target >= 0.80)")
        print("consume per CPU-second: VigilKafka \(BenchReport.rate(bestCPU)) vs \(BenchReport.rate(bestBaselineCPU)): ratio \(String(format: "%.2f", cpuRatio))")
        try BenchReport.finish([
            "bench": "kafka",
            "messages": messages,
            "payload_bytes": size,
            "batch": batch,
            "consume_per_s": best.rounded(),
            "baseline_per_s": bestBaseline.rounded(),
            "ratio": (ratio * 1000).rounded() / 1000,
            "consume_per_cpu_s": bestCPU.rounded(),
            "baseline_per_cpu_s": bestBaselineCPU.rounded(),
            "cpu_ratio": (cpuRatio * 1000).rounded() / 1000,
            "target_ratio": 0.8,
            "produce_per_s": produced.rounded(),
            "baseline_produce_per_s": baselineProduced.messagesPerSecond.rounded(),
            "produce_ratio": (produced / baselineProduced.messagesPerSecond * 1000).rounded() / 1000,
        ])
    }

    /// VigilKafka's producer rate, from the first send to the last delivery report.
    private func produce(brokers: String, topic: String) async throws -> Double {
        var config = KafkaProducerConfiguration(bootstrapServers: [brokers])
        config.properties["batch.num.messages"] = "10000"
        let producer = try KafkaProducer(configuration: config)
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<messages {
            for byte in 0..<8 { payload[byte] = UInt8(truncatingIfNeeded: UInt64(index) >> (56 - 8 * byte)) }
            let message = KafkaProducerMessage(topic: topic, key: Array("card-\(index % 1000)".utf8), value: payload)
            try await producer.sendWhenQueued(message)
        }
        try await producer.flush(timeout: .seconds(120))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let counts = producer.deliveryCounts
        try await producer.close()
        guard counts.failed == 0, counts.delivered == messages else {
            throw ValidationError("VigilKafka delivered \(counts.delivered), failed \(counts.failed) of \(messages)")
        }
        return Double(messages) / seconds
    }

    /// VigilKafka's consume rate from the first message, polling batches from the beginning.
    private func consume(brokers: String, topic: String) async throws -> Double {
        var config = KafkaConsumerConfiguration(bootstrapServers: [brokers], groupID: "bench-\(UUID().uuidString)")
        config.properties["log_level"] = "3"
        let consumer = try KafkaConsumer(configuration: config)
        var offsets: [KafkaTopicPartition: KafkaOffset] = [:]
        for partition in 0..<partitions { offsets[KafkaTopicPartition(topic: topic, partition: Int32(partition))] = .beginning }
        try await consumer.assign(offsets)
        var count = 0
        var bytes = 0
        var first: UInt64 = 0
        var idlePolls = 0
        while count < messages && idlePolls < 600 {
            let batch = try await consumer.poll(maxMessages: batch, timeout: .milliseconds(100))
            if batch.isEmpty { idlePolls += 1; continue }
            if first == 0 { first = DispatchTime.now().uptimeNanoseconds }
            count += batch.count
            for message in batch { bytes += message.value.count }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - first) / 1e9
        try await consumer.close()
        guard count == messages, bytes == messages * size else {
            throw ValidationError("VigilKafka consumed \(count) of \(messages) messages (\(bytes) bytes)")
        }
        return Double(count) / seconds
    }

    /// User plus system CPU time of this process so far.
    private func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
