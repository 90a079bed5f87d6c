import Foundation
import VigilFeatures
import VigilML
import VigilSimulator
@testable import VigilEngine

/// Small shapes so the debug-build tests stay quick.
enum Fixture {
    static let spec = FeatureSpec(
        dense: [
            .init("amount", log1p: true, standardize: true, clip: -5...5),
            .init("time.hour_sin"), .init("time.hour_cos"),
            .init("card.count_1h", log1p: true), .init("card.count_24h", log1p: true),
            .init("card.amount_ratio", log1p: true, clip: 0...6), .init("card.amount_zscore", clip: -6...6),
            .init("card.seconds_since_last", log1p: true), .init("card.new_merchant"), .init("card.new_country"),
            .init("card.transactions", log1p: true), .init("merchant.risk"), .init("terminal.risk"),
        ],
        categorical: [.init("mcc", buckets: 64), .init("country", buckets: 16), .init("channel", buckets: 4)],
        crosses: [.init(["mcc", "amount_bucket"], buckets: 128)])

    static var architecture: ModelArchitecture {
        var a = ModelArchitecture()
        a.encoderWidths = [16]
        a.embeddingWidth = 4
        a.decoderWidths = [16]
        a.classifierHiddenWidths = [16, 8]
        a.bagWidth = 4
        a.sparsity = SparsitySchedule(target: 0.5, startStep: 20, endStep: 100, updateInterval: 10)
        a.autoencoderLearningRate = 3e-3
        return a
    }

    static func simulator(seed: UInt64 = 3, transactions: Int) -> TransactionSimulator {
        var c = SimulatorConfiguration()
        c.seed = seed
        c.customers = 400
        c.terminals = 800
        c.merchants = 200
        c.compromisedTerminalsPerDay = 3
        c.compromisedCardsPerDay = 4
        c.labelDelayHours = 2
        c.legitLabelRate = 0.3
        return TransactionSimulator(configuration: c, maxTransactions: transactions)
    }

    static func event(_ t: SimulatedTransaction) -> TransactionEvent {
        TransactionEvent(eventID: t.eventID, timestampMillis: t.timestampMillis, cardID: t.cardID, merchantID: t.merchantID,
                         amount: Double(t.amountCents) / 100, currency: t.currency, mcc: t.mcc, country: t.country,
                         channel: t.channel, terminalID: t.terminalID, customerID: t.customerID)
    }

    /// Transactions (with their truth) and labels, in stream order.
    static func stream(seed: UInt64 = 3, transactions: Int) -> (events: [TransactionEvent], fraud: [String: Bool], labels: [LabelEvent]) {
        var events: [TransactionEvent] = []
        var fraud: [String: Bool] = [:]
        var labels: [LabelEvent] = []
        for record in simulator(seed: seed, transactions: transactions) {
            switch record {
            case .transaction(let t):
                events.append(event(t))
                fraud[t.eventID] = t.scenario.isFraud
            case .label(let l):
                labels.append(LabelEvent(eventID: l.eventID, isFraud: l.isFraud, timestampMillis: l.timestampMillis))
            }
        }
        return (events, fraud, labels)
    }

    static func extractor() throws -> FeatureExtractor { try FeatureExtractor(spec: spec) }

    /// A cold-start model set fitted on the features of the first `warmUp` events.
    static func coldStart(events: [TransactionEvent], warmUp: Int = 512, version: Int64 = 1) throws -> ModelSet {
        var x = try extractor()
        var rows: [Float] = []
        for e in events.prefix(warmUp) { rows += x.extract(e).dense }
        return try ModelSet.coldStart(featureSpecHash: spec.specHash, featureWidth: spec.dense.count,
                                      sparseDimension: Int(x.sparseDimension), architecture: architecture,
                                      warmUpRows: rows, count: min(warmUp, events.count), epochs: 2,
                                      version: version, createdAtMillis: 1_767_225_600_000)
    }
}
