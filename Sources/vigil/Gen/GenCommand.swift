// `vigil gen`: simulated card transactions with fraud and delayed labels, to files or to
// Kafka topics.
import ArgumentParser
import Foundation
import VigilReplay
import VigilService

struct GenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Simulate card transactions with fraud scenarios and delayed labels.",
        discussion: """
            Customers and terminals live on a grid; each customer has a spending profile and a daily rhythm.
            Fraud: large amounts, compromised terminals, compromised cards, card-testing bursts, account takeovers.
            Labels (chargebacks) follow their transactions after a delay. The same --seed gives the same output.
            With --to file (default) writes <out>/transactions.<format> and <out>/labels.<format>;
            with --to kafka sends the event and label contracts as JSON to --transactions-topic and
            --labels-topic (key = card id for transactions, event id for labels) on --brokers
            (default: VIGIL_KAFKA_BROKERS). A summary JSON line goes to stdout.
            """
    )

    @Option(help: "Seed of every random choice.") var seed: UInt64 = 1
    @Option(help: "Customers (one card each).") var customers = 10_000
    @Option(help: "Terminals on the grid.") var terminals = 20_000
    @Option(help: "Merchants owning the terminals.") var merchants = 5_000
    @Option(help: "Simulated days (default 30 when --events is not given).") var days: Int?
    @Option(help: "Stop after this many transactions.") var events: Int?
    @Option(help: "Start of simulated time: an RFC 3339 date-time, or 'now'.") var start = "2026-01-01T00:00:00Z"
    @Option(help: "Destination: file or kafka.") var to = "file"
    @Option(help: "Output directory (--to file).") var out = "."
    @Option(help: "Kafka bootstrap servers, comma-separated (--to kafka; default: VIGIL_KAFKA_BROKERS).") var brokers: String?
    @Option(help: "Topic for transactions (--to kafka).") var transactionsTopic = "transactions"
    @Option(help: "Topic for labels (--to kafka).") var labelsTopic = "labels"
    @Option(help: "How long Kafka delivery of one message may take before the run fails, in ms (--to kafka).")
    var messageTimeoutMs = 30_000
    @Option(help: "Output format: jsonl or csv.") var format = "jsonl"
    @Flag(help: "Add ground truth (fraud, scenario) to each transaction.") var truth = false
    @Option(help: "Target transactions per second (0 = as fast as possible).") var rate = 0.0
    @Option(help: "Mean label delay in hours.") var labelDelayHours = 72.0
    @Option(help: "Share of legitimate transactions that get a legit label.") var legitLabelRate = 0.05
    @Option(help: "Share of transactions turned into large-amount fraud.") var largeAmountRate = 0.001
    @Option(help: "Terminals compromised per day.") var compromisedTerminalsPerDay = 2
    @Option(help: "Cards compromised per day.") var compromisedCardsPerDay = 3
    @Option(help: "Card-testing bursts per day.") var cardTestingPerDay = 1
    @Option(help: "Account takeovers per day.") var takeoversPerDay = 1
    @Flag(help: "No progress display.") var quiet = false
    @Option(help: "With --to kafka: share of transactions and of labels followed by a poison message, cycling through every class the decoder refuses (fault drills; tools/chaos).")
    var poisonRate = 0.0

    func validate() throws {
        guard customers > 0, terminals > 0, merchants > 0 else { throw ValidationError("--customers, --terminals and --merchants must be positive") }
        if let days, days <= 0 { throw ValidationError("--days must be positive") }
        if let events, events <= 0 { throw ValidationError("--events must be positive") }
        guard SimulationFileFormat(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv") }
        guard to == "file" || to == "kafka" else { throw ValidationError("--to must be file or kafka") }
        guard messageTimeoutMs > 0 else { throw ValidationError("--message-timeout-ms must be positive") }
        if to == "kafka" && kafkaBrokers.isEmpty {
            throw ValidationError("--to kafka needs --brokers or VIGIL_KAFKA_BROKERS")
        }
        guard rate >= 0, labelDelayHours >= 0 else { throw ValidationError("--rate and --label-delay-hours must not be negative") }
        guard (0...1).contains(poisonRate) else { throw ValidationError("--poison-rate must be within 0...1") }
        if poisonRate > 0 && to != "kafka" { throw ValidationError("--poison-rate needs --to kafka") }
        for (name, p) in [("--legit-label-rate", legitLabelRate), ("--large-amount-rate", largeAmountRate)] where !(0...1).contains(p) {
            throw ValidationError("\(name) must be within 0...1")
        }
        for (name, n) in [("--compromised-terminals-per-day", compromisedTerminalsPerDay), ("--compromised-cards-per-day", compromisedCardsPerDay),
                          ("--card-testing-per-day", cardTestingPerDay), ("--takeovers-per-day", takeoversPerDay)] where n < 0 {
            throw ValidationError("\(name) must not be negative")
        }
        _ = try startMillis()
    }

    func startMillis() throws -> Int64 {
        if start == "now" {
            let ms = Int64(Date().timeIntervalSince1970 * 1000)
            return ms - ms % 1000
        }
        guard let ms = EventTimestamp.parseRFC3339(start) else {
            throw ValidationError("--start must be an RFC 3339 date-time such as 2026-01-01T00:00:00Z, or 'now'")
        }
        return ms
    }

    var kafkaBrokers: [String] {
        let list = brokers ?? ProcessInfo.processInfo.environment["VIGIL_KAFKA_BROKERS"] ?? ""
        return list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Where the stream goes: two files, or the transactions and labels topics.
    func makeSink(_ fileFormat: SimulationFileFormat) throws -> any SimulationSink {
        if to == "kafka" {
            var configuration = KafkaProducerConfiguration(bootstrapServers: kafkaBrokers)
            configuration.clientID = "vigil-gen"
            configuration.messageTimeout = .milliseconds(messageTimeoutMs)
            // Brokers that auto-create topics may; production clusters usually have them made ahead.
            configuration.allowAutoCreateTopics = true
            return try KafkaSimulationSink(configuration: configuration, transactionsTopic: transactionsTopic, labelsTopic: labelsTopic,
                                           poisonRate: poisonRate, seed: seed)
        }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--out \(out): the directory cannot be created (\(error.localizedDescription))")
        }
        return try FileSink(
            transactionsPath: "\(out)/transactions.\(fileFormat.rawValue)", labelsPath: "\(out)/labels.\(fileFormat.rawValue)",
            format: fileFormat, includeTruth: truth)
    }

    func run() async throws {
        var c = SimulatorConfiguration()
        c.seed = seed
        c.customers = customers
        c.terminals = terminals
        c.merchants = merchants
        c.startMillis = try startMillis()
        c.labelDelayHours = labelDelayHours
        c.legitLabelRate = legitLabelRate
        c.largeAmountRate = largeAmountRate
        c.compromisedTerminalsPerDay = compromisedTerminalsPerDay
        c.compromisedCardsPerDay = compromisedCardsPerDay
        c.cardTestingBurstsPerDay = cardTestingPerDay
        c.accountTakeoversPerDay = takeoversPerDay
        let fileFormat = SimulationFileFormat(rawValue: format) ?? .jsonl
        let sink = try makeSink(fileFormat)
        let maxDays = days ?? (events == nil ? 30 : nil)
        var simulator = TransactionSimulator(configuration: c, maxTransactions: events, maxDays: maxDays)
        var progress = GenProgress(quiet: quiet, totalTransactions: events, totalDays: maxDays)
        let began = ContinuousClock.now
        while let record = simulator.next() {
            switch record {
            case .transaction(let tx):
                try await sink.write(tx)
                if rate > 0 && simulator.transactionsEmitted % 256 == 0 {
                    // Pace against the schedule, not per event, so sleeps stay coarse and cheap.
                    let due = began + .seconds(Double(simulator.transactionsEmitted) / rate)
                    if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
                }
            case .label(let label):
                try await sink.write(label)
            }
            if simulator.transactionsEmitted & 4095 == 0 {
                progress.update(transactions: simulator.transactionsEmitted, labels: simulator.labelsEmitted, day: simulator.day)
            }
        }
        try await sink.finish()
        progress.finish(transactions: simulator.transactionsEmitted, labels: simulator.labelsEmitted, day: simulator.day)
        var summary: [String: Any] = [
            "transactions": simulator.transactionsEmitted, "labels": simulator.labelsEmitted, "days": simulator.day,
            "seed": seed, "to": to, "out": to == "kafka" ? "\(transactionsTopic),\(labelsTopic)" : out, "format": fileFormat.rawValue,
            "seconds": progress.elapsedSeconds,
        ]
        for scenario in FraudScenario.allCases { summary["count_\(scenario.rawValue)"] = simulator.scenarioCounts[scenario] ?? 0 }
        if let kafka = sink as? KafkaSimulationSink {
            summary["poison_transactions"] = kafka.poisonTransactions
            summary["poison_labels"] = kafka.poisonLabels
        }
        let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
