// Zero-amount verification authorisations: decoded, given finite features, and scored by a replay.
import Foundation
import Testing
import VigilFeatures
import VigilSimulator
@testable import VigilReplay

struct ZeroAmountTests {
    static func line(_ id: String, card: String, amount: String, second: Int) -> String {
        #"{"event_id":"\#(id)","ts":\#(1_767_225_600_000 + second * 1000),"card_id":"\#(card)","merchant_id":"m-1","amount":\#(amount),"currency":"EUR","terminal_id":"t-1"}"#
    }

    @Test func aZeroAmountEventDecodesAndExtractsFiniteFeatures() throws {
        let decoder = EventDecoder()
        var extractor = try FeatureExtractor(spec: .standard)
        let names = extractor.denseNames
        // A card with ordinary history, then $0 checks; a card that only ever sees $0; -0 as well.
        var lines = (0..<5).map { Self.line("a\($0)", card: "c-1", amount: "\(10 + $0).50", second: $0 * 60) }
        lines += (0..<3).map { Self.line("z\($0)", card: "c-1", amount: "0", second: 400 + $0) }
        lines += (0..<4).map { Self.line("o\($0)", card: "c-2", amount: $0 == 3 ? "-0.0" : "0.00", second: 500 + $0) }
        for text in lines {
            let event = try decoder.decode(Array(text.utf8))
            let v = extractor.extract(event)
            for (i, x) in v.dense.enumerated() { #expect(x.isFinite, "\(names[i]) = \(x) for \(text)") }
            guard event.amount == 0 else { continue }
            #expect(event.amount.sign == .plus)
            // The standard spec feeds the ratio through log1p: log1p(exp(log1p(amount) - mean)).
            let ratio = v.dense[names.firstIndex(of: "card.amount_ratio")!]
            if event.eventID == "z0" {
                // log1p(0) against a mean log-amount near log1p(12): far below the card's typical amount.
                #expect(ratio > 0 && ratio < 0.2, "amount ratio \(ratio)")
            }
            if event.cardID == "c-2", event.eventID != "o0" {
                #expect(abs(ratio - Float(log1p(1.0))) < 1e-6, "a card that only sees $0 has ratio 1, got log1p = \(ratio)")
                #expect(v.dense[names.firstIndex(of: "card.amount_zscore")!] == 0)
            }
        }
    }

    /// A generated stream whose card-testing probes are $0 authorisations (and every 50th ordinary
    /// transaction too), written as JSONL and read through the event contract.
    @Test func aReplayScoresZeroAmountEvents() throws {
        var c = SimulatorConfiguration()
        c.seed = 5
        c.customers = 300
        c.terminals = 600
        c.merchants = 150
        c.cardTestingBurstsPerDay = 3
        var text = "", zeros = 0, zeroFrauds = 0, count = 0
        for record in TransactionSimulator(configuration: c, maxTransactions: 3000) {
            guard case .transaction(var t) = record else { continue }
            if t.scenario == .cardTesting || count % 50 == 0 {
                t.amountCents = 0
                zeros += 1
                if t.scenario.isFraud { zeroFrauds += 1 }
            }
            text += t.json(truth: true) + "\n"
            count += 1
        }
        #expect(zeroFrauds > 0, "the stream should hold $0 card-testing frauds")
        let path = try Support.temporaryFile("zero.jsonl", text)
        let input = try ReplayInputReader(onMalformed: .fail).read(events: path)
        #expect(input.events.count == count)
        #expect(input.events.filter { $0.amount == 0 }.count == zeros)

        let result = try ReplayRunner.run(input, configuration: Support.configuration())
        #expect(result.risks.count == count)
        for (i, risk) in result.risks.enumerated() {
            #expect(risk.isFinite && risk >= 0 && risk <= 1, "event \(i) (amount \(input.events[i].amount)): risk \(risk)")
        }
        #expect(result.metrics.promotions.contains { $0.outcome == "promoted" }, "the models learnt from a stream with $0 events")
        #expect(result.metrics.auprc.map(\.isFinite) == true)
    }
}
