// The simulator: determinism, scenario rates against the configuration, label delays, and
// that everything it writes passes the event decoder.
import Foundation
import Testing
import VigilFeatures
@testable import VigilSimulator

private func smallWorld(seed: UInt64 = 42) -> SimulatorConfiguration {
    var c = SimulatorConfiguration()
    c.seed = seed
    c.customers = 1500
    c.terminals = 3000
    c.merchants = 800
    return c
}

private func run(_ c: SimulatorConfiguration, days: Int) -> (transactions: [SimulatedTransaction], labels: [SimulatedLabel]) {
    var tx: [SimulatedTransaction] = [], labels: [SimulatedLabel] = []
    for record in TransactionSimulator(configuration: c, maxDays: days) {
        switch record {
        case .transaction(let t): tx.append(t)
        case .label(let l): labels.append(l)
        }
    }
    return (tx, labels)
}

@Suite struct SimulatorTests {
    @Test func sameSeedSameStreamOtherSeedOtherStream() {
        let a = run(smallWorld(), days: 4), b = run(smallWorld(), days: 4), other = run(smallWorld(seed: 43), days: 4)
        #expect(a.transactions == b.transactions)
        #expect(a.labels == b.labels)
        #expect(a.transactions.map { $0.json(truth: true) } == b.transactions.map { $0.json(truth: true) })
        #expect(a.transactions.map(\.amountCents) != other.transactions.map(\.amountCents))
    }

    @Test func scenarioRatesFollowTheConfiguration() {
        var c = smallWorld()
        c.largeAmountRate = 0.01
        c.compromisedTerminalsPerDay = 1
        c.terminalCompromiseDays = 5
        c.compromisedCardsPerDay = 2
        c.cardCompromiseDays = 10
        c.cardTestingBurstsPerDay = 2
        c.accountTakeoversPerDay = 3
        c.legitLabelRate = 0.2
        let days = 30
        let (tx, labels) = run(c, days: days)
        let count = { (s: FraudScenario) in tx.filter { $0.scenario == s }.count }
        let legitLike = tx.filter { $0.scenario == .legit || $0.scenario == .largeAmount }.count
        // Large amounts: 1% of the ordinary transactions not already taken by another scenario.
        let largeShare = Double(count(.largeAmount)) / Double(legitLike)
        #expect(abs(largeShare - 0.01) < 0.003, "large-amount share \(largeShare)")
        #expect(tx.filter { $0.scenario == .largeAmount }.allSatisfy { $0.amountCents >= 2500 })
        // Card testing: 2 bursts a day of 5...20 small amounts.
        let testing = tx.filter { $0.scenario == .cardTesting }
        #expect(testing.count >= 2 * days * 5 && testing.count <= 2 * days * 20)
        #expect(testing.allSatisfy { $0.amountCents >= 50 && $0.amountCents <= 300 && $0.channel == "online" })
        // Account takeovers: 3 a day of 1...4 transactions, online, from a country other than home.
        let takeovers = tx.filter { $0.scenario == .accountTakeover }
        #expect(takeovers.count >= 3 * days && takeovers.count <= 3 * days * 4)
        let world = SimulatedWorld(c)
        #expect(takeovers.allSatisfy { $0.country != world.customers[$0.customer].country && $0.channel == "online" })
        // Compromised cards: about a third of a compromised card's transactions in its window.
        #expect(count(.compromisedCard) > 0)
        // Compromised terminals: every transaction on such a terminal within the window is fraud.
        let compromisedTerminals = Set(tx.filter { $0.scenario == .compromisedTerminal }.map(\.terminal))
        #expect(!compromisedTerminals.isEmpty && compromisedTerminals.count <= days)
        // Labels: every fraud gets a fraud label 36...108 h later; about 20% of legit ones a legit label.
        let byID = Dictionary(uniqueKeysWithValues: tx.map { ($0.eventID, $0) })
        let fraudLabels = labels.filter(\.isFraud)
        #expect(fraudLabels.count == tx.filter { $0.scenario.isFraud }.count)
        for l in labels {
            let t = byID[l.eventID]!
            #expect(l.isFraud == t.scenario.isFraud)
            let delayHours = Double(l.timestampMillis - t.timestampMillis) / 3_600_000
            #expect(delayHours >= 36 && delayHours <= 108)
        }
        let legitShare = Double(labels.count - fraudLabels.count) / Double(tx.count - fraudLabels.count)
        #expect(abs(legitShare - 0.2) < 0.02, "legit label share \(legitShare)")
        // Time order within each stream.
        #expect(zip(tx, tx.dropFirst()).allSatisfy { $0.timestampMillis <= $1.timestampMillis })
        // Daily rhythm: more transactions at noon than at 3 am.
        let hours = tx.map { Int(($0.timestampMillis / 3_600_000) % 24) }
        #expect(hours.filter { $0 == 12 }.count > 3 * hours.filter { $0 == 3 }.count)
    }

    @Test func compromisedCardShareIsAboutAThird() {
        var c = smallWorld(seed: 7)
        c.compromisedCardsPerDay = 20
        c.cardCompromiseDays = 30
        c.compromisedTerminalsPerDay = 0
        c.largeAmountRate = 0
        let (tx, _) = run(c, days: 12)
        let compromisedCards = Set(tx.filter { $0.scenario == .compromisedCard }.map(\.customer))
        // Of these cards' transactions after their first fraud, about a third are fraud.
        var firstFraud: [Int: Int64] = [:]
        for t in tx where t.scenario == .compromisedCard && firstFraud[t.customer] == nil { firstFraud[t.customer] = t.timestampMillis }
        let after = tx.filter { compromisedCards.contains($0.customer) && $0.timestampMillis > firstFraud[$0.customer]! && ($0.scenario == .legit || $0.scenario == .compromisedCard) }
        let share = Double(after.filter { $0.scenario == .compromisedCard }.count) / Double(after.count)
        #expect(abs(share - 1.0 / 3.0) < 0.06, "compromised share \(share) of \(after.count)")
    }

    @Test func outputPassesTheDecoder() throws {
        let decoder = EventDecoder()
        var n = 0
        for record in TransactionSimulator(configuration: smallWorld(), maxTransactions: 3000) {
            switch record {
            case .transaction(let t):
                let e = try decoder.decode(Array(t.json(truth: true).utf8))
                #expect(e.eventID == t.eventID && e.cardID == t.cardID && e.amount == Double(t.amountCents) / 100)
                #expect(e.timestampMillis == t.timestampMillis)
                n += 1
            case .label(let l):
                let decoded = try decoder.decodeLabel(Array(l.json().utf8))
                #expect(decoded.isFraud == l.isFraud && decoded.timestampMillis == l.timestampMillis)
            }
        }
        #expect(n == 3000)
    }

    @Test func fileSinkWritesBothFormats() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-gen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for format in SimulationFileFormat.allCases {
            let sink = try FileSink(transactionsPath: "\(dir)/t.\(format)", labelsPath: "\(dir)/l.\(format)", format: format, includeTruth: true)
            var tx = 0, labels = 0
            for record in TransactionSimulator(configuration: smallWorld(), maxTransactions: 500) {
                switch record {
                case .transaction(let t): try await sink.write(t); tx += 1
                case .label(let l): try await sink.write(l); labels += 1
                }
            }
            try await sink.finish()
            let txLines = try String(contentsOfFile: "\(dir)/t.\(format)", encoding: .utf8).split(separator: "\n")
            let labelLines = try String(contentsOfFile: "\(dir)/l.\(format)", encoding: .utf8).split(separator: "\n")
            let header = format == .csv ? 1 : 0
            #expect(txLines.count == tx + header && labelLines.count == labels + header)
            if format == .csv { #expect(txLines[0].hasSuffix(",fraud,scenario") && txLines[1].split(separator: ",").count == 13) }
        }
    }
}

@Suite struct SimulatedFeaturesTests {
    /// The simulator's fraud shows in the features built for it: the two parts fit together.
    @Test func fraudScenariosStandOutInTheirFeatures() throws {
        var c = smallWorld(seed: 9)
        c.cardTestingBurstsPerDay = 3
        c.accountTakeoversPerDay = 3
        c.largeAmountRate = 0.005
        let decoder = EventDecoder()
        var fx = try FeatureExtractor(spec: .standard)
        let names = FeatureSpec.standard.denseNames
        func column(_ name: String) -> Int { names.firstIndex(of: name)! }
        var sums: [FraudScenario: [Double]] = [:]
        var counts: [FraudScenario: Int] = [:]
        var vector = fx.makeVector()
        var labelsMatched = 0
        for record in TransactionSimulator(configuration: c, maxDays: 20) {
            switch record {
            case .transaction(let t):
                let event = try decoder.decode(Array(t.json(truth: false).utf8))
                fx.extract(event, into: &vector)
                guard t.timestampMillis > c.startMillis + 5 * 86_400_000 else { continue } // let histories build up
                var s = sums[t.scenario] ?? Array(repeating: 0, count: names.count)
                for i in s.indices { s[i] += Double(vector.dense[i]) }
                sums[t.scenario] = s
                counts[t.scenario, default: 0] += 1
            case .label(let l):
                if fx.apply(label: try decoder.decodeLabel(Array(l.json().utf8))) { labelsMatched += 1 }
            }
        }
        func mean(_ s: FraudScenario, _ name: String) -> Double { sums[s]![column(name)] / Double(counts[s]!) }
        #expect(mean(.cardTesting, "card.count_1h") > 2 * mean(.legit, "card.count_1h"))
        #expect(mean(.accountTakeover, "card.new_country") > 0.3 && mean(.legit, "card.new_country") < 0.05)
        #expect(mean(.largeAmount, "card.amount_zscore") > mean(.legit, "card.amount_zscore") + 2)
        #expect(mean(.compromisedTerminal, "terminal.risk") > mean(.legit, "terminal.risk"))
        #expect(labelsMatched > 0)
    }
}
