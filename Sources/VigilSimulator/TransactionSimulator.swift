// The simulator: a time-ordered stream of transactions and delayed labels, generated one
// simulated day at a time so that memory holds one day, never the whole run.
import VigilML

/// One output of the simulator, in time order.
public enum SimulatorRecord: Sendable, Equatable {
    case transaction(SimulatedTransaction)
    case label(SimulatedLabel)
}

/// Deterministic for a given configuration: the same seed gives the same records, byte for byte.
public struct TransactionSimulator: Sendable, IteratorProtocol, Sequence {
    public let configuration: SimulatorConfiguration
    public let world: SimulatedWorld
    /// Stop after this many transactions (labels still due are emitted after). nil = no limit.
    public let maxTransactions: Int?
    /// Stop after this many simulated days. nil = no limit.
    public let maxDays: Int?

    public private(set) var day = 0
    public private(set) var transactionsEmitted = 0
    public private(set) var labelsEmitted = 0
    public private(set) var scenarioCounts: [FraudScenario: Int] = [:]

    private var buffer: [SimulatedTransaction] = []
    private var index = 0
    private var labels = LabelQueue()
    private var labelRandom: SeededGenerator
    private var terminalCompromisedUntil: [Int: Int64] = [:]
    private var cardCompromisedUntil: [Int: Int64] = [:]
    private var finished = false

    public init(configuration: SimulatorConfiguration, maxTransactions: Int? = nil, maxDays: Int? = nil) {
        self.configuration = configuration
        self.maxTransactions = maxTransactions
        self.maxDays = maxDays
        world = SimulatedWorld(configuration)
        labelRandom = SeededGenerator(seed: configuration.seed, stream: 0x1ABE1)
    }

    static let dayMillis: Int64 = 86_400_000

    public mutating func next() -> SimulatorRecord? {
        while true {
            let limitReached = maxTransactions.map { transactionsEmitted >= $0 } ?? false
            if !limitReached && index < buffer.count {
                let tx = buffer[index]
                if let due = labels.nextDue, due <= tx.timestampMillis, let label = labels.pop() {
                    labelsEmitted += 1
                    return .label(label)
                }
                index += 1
                transactionsEmitted += 1
                scenarioCounts[tx.scenario, default: 0] += 1
                scheduleLabel(for: tx)
                return .transaction(tx)
            }
            if limitReached || finished || (maxDays.map { day >= $0 } ?? false) || configuration.customers == 0 {
                finished = true
                guard let label = labels.pop() else { return nil }
                labelsEmitted += 1
                return .label(label)
            }
            generateDay()
        }
    }

    private mutating func scheduleLabel(for tx: SimulatedTransaction) {
        let c = configuration
        guard tx.scenario.isFraud || labelRandom.chance(c.legitLabelRate) else { return }
        let delay = Int64(c.labelDelayHours * 3_600_000 * labelRandom.uniform(0.5, 1.5))
        labels.push(SimulatedLabel(eventID: tx.eventID, isFraud: tx.scenario.isFraud, timestampMillis: tx.timestampMillis + Swift.max(delay, 1), scenario: tx.scenario))
    }

    /// Generates the next simulated day: ordinary spending, then the injected fraud, sorted by time.
    private mutating func generateDay() {
        let c = configuration
        var rng = SeededGenerator(seed: c.seed, stream: 0xDA7_0000_0000 | UInt64(day))
        let dayStart = c.startMillis + Int64(day) * Self.dayMillis
        var txs: [(tx: SimulatedTransaction, order: Int)] = []
        let terminalCount = world.terminals.count

        for _ in 0..<c.compromisedTerminalsPerDay {
            let t = rng.below(terminalCount)
            terminalCompromisedUntil[t] = Swift.max(terminalCompromisedUntil[t] ?? 0, dayStart + Int64(c.terminalCompromiseDays) * Self.dayMillis)
        }
        for _ in 0..<c.compromisedCardsPerDay {
            let k = rng.below(world.customers.count)
            cardCompromisedUntil[k] = Swift.max(cardCompromisedUntil[k] ?? 0, dayStart + Int64(c.cardCompromiseDays) * Self.dayMillis)
        }

        func make(_ customer: Int, _ terminal: Int, at ts: Int64, amount: Double, channel: String, country: String, _ scenario: FraudScenario) -> SimulatedTransaction {
            let t = world.terminals[terminal]
            return SimulatedTransaction(
                eventID: "", timestampMillis: ts, customer: customer, terminal: terminal, merchant: t.merchant,
                amountCents: Swift.max(1, Int64((amount * 100).rounded())), currency: c.currency, mcc: t.mcc,
                country: country, channel: channel, scenario: scenario)
        }

        for (k, p) in world.customers.enumerated() {
            for _ in 0..<rng.poisson(p.transactionsPerDay) {
                let seconds = rng.normal(mean: 43_200, sd: 20_000)
                guard seconds >= 0, seconds < 86_400 else { continue } // as in the handbook: outside the day, dropped
                let ts = dayStart + Int64(seconds * 1000)
                var amount = rng.normal(mean: p.meanAmount, sd: p.sdAmount)
                if amount <= 0 { amount = rng.uniform(0.5, p.meanAmount * 2) }
                let terminal = Int(p.terminals[rng.below(p.terminals.count)])
                let online = p.prefersOnline ? rng.chance(0.8) : rng.chance(0.1)
                var scenario = FraudScenario.legit
                if let until = terminalCompromisedUntil[terminal], ts < until {
                    scenario = .compromisedTerminal
                } else if let until = cardCompromisedUntil[k], ts < until, rng.chance(c.compromisedCardShare) {
                    scenario = .compromisedCard
                    amount *= 5
                } else if rng.chance(c.largeAmountRate) {
                    scenario = .largeAmount
                    amount = Swift.max(amount, p.meanAmount) * rng.uniform(5, 15)
                }
                txs.append((make(k, terminal, at: ts, amount: amount, channel: online ? "online" : "pos", country: p.country, scenario), txs.count))
            }
        }
        for _ in 0..<c.cardTestingBurstsPerDay {
            let k = rng.below(world.customers.count)
            var ts = dayStart + Int64(rng.uniform(0, 86_400 - 3600) * 1000)
            for _ in 0..<(5 + rng.below(16)) {
                ts += Int64((1 + rng.exponential(mean: 30)) * 1000)
                txs.append((make(k, rng.below(terminalCount), at: ts, amount: rng.uniform(0.5, 3), channel: "online",
                                 country: world.customers[k].country, .cardTesting), txs.count))
            }
        }
        if !c.takeoverCountries.isEmpty {
            for _ in 0..<c.accountTakeoversPerDay {
                let k = rng.below(world.customers.count)
                let p = world.customers[k]
                let candidates = c.takeoverCountries.filter { $0 != p.country }
                let country = candidates.isEmpty ? c.takeoverCountries[0] : candidates[rng.below(candidates.count)]
                var ts = dayStart + Int64(rng.uniform(0, 86_400 - 4 * 3600) * 1000)
                for _ in 0..<(1 + rng.below(4)) {
                    ts += Int64(rng.uniform(300, 3600) * 1000)
                    txs.append((make(k, rng.below(terminalCount), at: ts, amount: p.meanAmount * rng.uniform(3, 10), channel: "online",
                                     country: country, .accountTakeover), txs.count))
                }
            }
        }
        // A total order (time, then generation order) keeps the stream identical run to run.
        txs.sort { $0.tx.timestampMillis != $1.tx.timestampMillis ? $0.tx.timestampMillis < $1.tx.timestampMillis : $0.order < $1.order }
        var base = transactionsEmitted
        buffer = txs.map { entry in
            var tx = entry.tx
            tx.eventID = "tx-\(c.seed)-\(base)"
            base += 1
            return tx
        }
        index = 0
        // Forget compromises that have ended, so the maps stay small on long runs.
        let nextDay = dayStart + Self.dayMillis
        terminalCompromisedUntil = terminalCompromisedUntil.filter { $0.value > nextDay }
        cardCompromisedUntil = cardCompromisedUntil.filter { $0.value > nextDay }
        day += 1
    }
}
