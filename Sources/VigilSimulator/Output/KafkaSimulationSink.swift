// Sends the simulator's stream to Kafka: transactions (key = card id, the event
// contract as JSON) and labels (key = event id, the label contract) on their topics.
import VigilKafka
import VigilML

public final class KafkaSimulationSink: SimulationSink {
    public let transactionsTopic: String
    public let labelsTopic: String
    private let producer: KafkaProducer
    /// Share of transactions (and labels) followed by a poison message (`--poison-rate`).
    public let poisonRate: Double
    /// Its own stream of the seed, so poison does not change the simulated traffic.
    private var poisonRandom: SeededGenerator
    public private(set) var poisonTransactions = 0
    public private(set) var poisonLabels = 0

    public init(configuration: KafkaProducerConfiguration, transactionsTopic: String, labelsTopic: String, poisonRate: Double = 0, seed: UInt64 = 1) throws {
        self.transactionsTopic = transactionsTopic
        self.labelsTopic = labelsTopic
        self.poisonRate = poisonRate
        poisonRandom = SeededGenerator(seed: seed, stream: 0x9015_0a)
        producer = try KafkaProducer(configuration: configuration)
    }

    public func write(_ transaction: SimulatedTransaction) async throws {
        try await send(KafkaProducerMessage(topic: transactionsTopic, key: Array(transaction.cardID.utf8),
                                            value: Array(transaction.json(truth: false).utf8)))
        if poisonRate > 0, Double.random(in: 0..<1, using: &poisonRandom) < poisonRate {
            try await send(PoisonMessages.transaction(transaction, index: poisonTransactions, topic: transactionsTopic))
            poisonTransactions += 1
        }
    }

    public func write(_ label: SimulatedLabel) async throws {
        try await send(KafkaProducerMessage(topic: labelsTopic, key: Array(label.eventID.utf8), value: Array(label.json().utf8)))
        if poisonRate > 0, Double.random(in: 0..<1, using: &poisonRandom) < poisonRate {
            try await send(PoisonMessages.label(label, index: poisonLabels, topic: labelsTopic))
            poisonLabels += 1
        }
    }

    /// Waits for every delivery and fails when any message was not delivered.
    public func finish() async throws {
        try await producer.close(timeout: .seconds(60))
        let counts = producer.deliveryCounts
        if counts.failed > 0 {
            throw SimulatorError(.output, "\(counts.failed) of \(counts.delivered + counts.failed) messages were not delivered to Kafka")
        }
    }

    /// Enqueues without waiting for the report; a full local queue is waited out.
    /// Failed deliveries are counted by the producer and reported by `finish()`.
    private func send(_ message: KafkaProducerMessage) async throws {
        try await producer.sendWhenQueued(message)
    }
}
