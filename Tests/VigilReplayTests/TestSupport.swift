// Shared helpers: simulated streams, small fast model shapes, temporary files.
import Foundation
import VigilEngine
import VigilFeatures
import VigilML
import VigilSimulator
@testable import VigilReplay

enum Support {
    static func architecture() -> ModelArchitecture {
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

    /// A small, fast configuration: small models, a learner that checks for publication every
    /// 200 labels with a small guard window, so a few thousand events see several publications.
    static func configuration() -> ReplayConfiguration {
        var c = ReplayConfiguration()
        c.architecture = architecture()
        c.warmUpEvents = 512
        c.labelDelay = .events(200)
        c.trainer.minimumLabels = 100
        c.trainer.publishEveryLabels = 200
        c.trainer.minimumPublishGap = .zero
        c.trainer.guardWindow = 2_000
        c.trainer.guardMinimumFrauds = 5
        c.trainer.trafficSampleEvery = 4
        c.trainer.autoencoderBatch = 64
        c.trainer.normalRegionSample = 512
        c.cardsPerDay = 20
        return c
    }

    /// Simulated events with their truth (gen --truth), in stream order.
    static func simulated(seed: UInt64 = 3, transactions: Int) -> ReplayInput {
        var c = SimulatorConfiguration()
        c.seed = seed
        c.customers = 400
        c.terminals = 800
        c.merchants = 200
        c.compromisedTerminalsPerDay = 3
        c.compromisedCardsPerDay = 4
        c.labelDelayHours = 2
        c.legitLabelRate = 0.3
        var input = ReplayInput()
        for record in TransactionSimulator(configuration: c, maxTransactions: transactions) {
            guard case .transaction(let t) = record else { continue }
            input.events.append(TransactionEvent(
                eventID: t.eventID, timestampMillis: t.timestampMillis, cardID: t.cardID, merchantID: t.merchantID,
                amount: Double(t.amountCents) / 100, currency: t.currency, mcc: t.mcc, country: t.country,
                channel: t.channel, terminalID: t.terminalID, customerID: t.customerID))
            input.truth.append(t.scenario.isFraud ? .fraud : .legit)
        }
        return input
    }

    static func temporaryFile(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
