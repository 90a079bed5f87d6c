// The prequential loop: labels stay hidden for their delay, runs are reproducible, planted fraud is found.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilML
@testable import VigilReplay

struct ReplayRunnerTests {
    @Test func labelsAreReleasedOnlyAfterTheirDelay() throws {
        var input = ReplayInput()
        for i in 0..<100 {
            input.events.append(TransactionEvent(eventID: "e\(i)", timestampMillis: Int64(i) * 1000, cardID: "c", merchantID: "m",
                                                 amount: 1, currency: "EUR"))
            input.truth.append(i % 3 == 0 ? .fraud : .legit)
        }
        var byEvents = try LabelSchedule(input: input, delay: .events(10))
        for last in 0..<100 {
            byEvents.release(lastScored: last, latestTime: Int64(last) * 1000) { p in
                #expect(last >= p.eventIndex + 9, "label of event \(p.eventIndex) seen after event \(last)")
            }
        }
        var byTime = try LabelSchedule(input: input, delay: .eventTime(millis: 5500))
        var released = 0
        for last in 0..<100 {
            byTime.release(lastScored: last, latestTime: Int64(last) * 1000) { p in
                // Every later event has time ≥ (last + 1) s > event time + delay.
                #expect(Int64(last) * 1000 >= Int64(p.eventIndex) * 1000 + 5500)
                released += 1
            }
        }
        #expect(released == 94)  // events 0...93 have time + 5.5 s ≤ 99 s
        #expect(throws: ReplayError.self) { try LabelSchedule(input: input, delay: .recorded) }
    }

    /// The label of each event is a function of the future: fraud iff the next event's amount
    /// is large. Amounts are independent draws, so nothing scored before the label is released
    /// can predict it; with the delay respected the ranking is at chance level.
    @Test func aLabelThatIsAFunctionOfTheFutureDoesNotLeak() throws {
        var input = ReplayInput()
        var g = SystemRandomNumberGeneratorSeeded(seed: 7)
        let n = 6000
        let amounts = (0...n).map { _ in Double(g.next() % 10_000) / 100 + 1 }
        for i in 0..<n {
            input.events.append(TransactionEvent(eventID: "e\(i)", timestampMillis: 1_767_225_600_000 + Int64(i) * 60_000,
                                                 cardID: "c\(g.next() % 50)", merchantID: "m\(g.next() % 20)", amount: amounts[i], currency: "EUR"))
            input.truth.append(amounts[i + 1] > 80 ? .fraud : .legit)
        }
        var c = Support.configuration()
        c.labelDelay = .events(2)
        let result = try ReplayRunner.run(input, configuration: c)
        let m = result.metrics
        let rate = try #require(m.fraudRate), auprc = try #require(m.auprc), auc = try #require(m.rocAUC)
        #expect(m.labelsDelivered > 5000)
        #expect(abs(auc - 0.5) < 0.06, "ROC-AUC \(auc) on an unpredictable label")
        #expect(auprc < rate + 0.06, "AUPRC \(auprc) vs fraud rate \(rate)")
    }

    @Test func sameInputAndSeedGiveByteIdenticalMetrics() throws {
        let input = Support.simulated(transactions: 3000)
        let c = Support.configuration()
        let run = try ReplayRunner.run(input, configuration: c)
        let a = try run.metrics.encodedJSON()
        let b = try ReplayRunner.run(input, configuration: c).metrics.encodedJSON()
        #expect(a == b)
        #expect(String(decoding: a, as: UTF8.self).contains("\"auprc\""))
    }

    @Test func publicationsLandAtTheSameEventsInEveryRun() throws {
        let input = Support.simulated(transactions: 4000)
        var c = Support.configuration()
        c.batchSize = 100
        let a = try ReplayRunner.run(input, configuration: c), b = try ReplayRunner.run(input, configuration: c)
        #expect(try a.metrics.encodedJSON() == b.metrics.encodedJSON())
        let promoted = a.metrics.promotions.filter { $0.outcome == "promoted" }
        #expect(!promoted.isEmpty, "\(a.metrics.promotions.map(\.detail))")
        // Learnt from at a batch boundary, live before the batch after the next one is scored:
        // one batch later (or at the end of the input).
        #expect(a.metrics.promotions.allSatisfy { $0.afterEvents == min($0.trainedOnEvents + 100, 4000) })
        // Versions grow one by one, each promotion's parent the one before.
        #expect(promoted.map(\.version) == Array(2..<(2 + Int64(promoted.count))))
        // The saved model is reproducible too: creation time is event time, not the wall clock.
        #expect(a.finalModel.encoded() == b.finalModel.encoded())
        // Another batch size is another schedule of hand-overs, but the same learner.
        c.batchSize = 256
        let other = try ReplayRunner.run(input, configuration: c)
        #expect(other.metrics.labelsDelivered == a.metrics.labelsDelivered)
    }

    @Test func plantedFraudIsRankedFarAboveItsRate() throws {
        let input = Support.simulated(transactions: 12_000)
        let c = Support.configuration()
        let result = try ReplayRunner.run(input, configuration: c)
        let m = result.metrics
        let rate = try #require(m.fraudRate), auprc = try #require(m.auprc), auc = try #require(m.rocAUC)
        #expect(m.frauds > 20)
        #expect(auprc > 3 * rate, "AUPRC \(auprc) vs fraud rate \(rate)")
        #expect(auc > 0.65, "ROC-AUC \(auc)")
        #expect(!m.promotions.isEmpty)
        #expect(m.days.allSatisfy { $0.cardsRanked > 0 })
        // Alerts per day are the events the policy sent to review or block (risk ≥ 0.5 without rules).
        let expectedAlerts = (m.warmUpEvents..<input.events.count).filter { input.truth[$0] != .unknown && result.risks[$0] >= 0.5 }.count
        #expect(m.days.map(\.alerts).reduce(0, +) == expectedAlerts)
        #expect(expectedAlerts > 0)
    }

    /// A backtest learns as serve does unless told otherwise: the same learner settings, and
    /// the metrics file records them with the clock they ran on.
    @Test func theDefaultScheduleIsServes() {
        let c = ReplayConfiguration()
        #expect(c.trainer == OnlineTrainerConfiguration())
        #expect(c.record["trainer"] == OnlineTrainerConfiguration().scheduleDescription)
        #expect(c.record["learner_clock"] == "event time")
    }

    /// Metrics are byte-identical on one machine, but OpenBLAS picks its kernels per CPU and
    /// they round differently: the metrics file says which ones produced it.
    @Test func theRecordNamesTheBLASKernel() {
        let kernel = ReplayConfiguration().record["blas_kernel"]
        #expect(kernel == BLAS.coreName)
        #expect(kernel != nil && kernel != "unknown" && !kernel!.isEmpty)
    }

    @Test func frozenAndCAEOnlyRunsKeepTheirModels() throws {
        let input = Support.simulated(transactions: 3000)
        var c = Support.configuration()
        c.freeze = true
        let frozen = try ReplayRunner.run(input, configuration: c)
        #expect(frozen.metrics.promotions.isEmpty && frozen.metrics.finalModelVersion == 1)
        c.freeze = false
        c.models = .cae
        let cae = try ReplayRunner.run(input, configuration: c)
        #expect(!cae.finalModel.classifierIsTrained)
        // A saved model set starts the next run.
        var fromSaved = Support.configuration()
        fromSaved.initialModel = cae.finalModel.encoded()
        fromSaved.freeze = true
        let next = try ReplayRunner.run(input, configuration: fromSaved)
        #expect(next.metrics.warmUpEvents == 0 && next.metrics.finalModelVersion == cae.finalModel.version)
    }
}

/// SplitMix64, so the test's data does not depend on the platform's generator.
struct SystemRandomNumberGeneratorSeeded: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct PublicDatasetReplayTests {
    /// A public-dataset-shaped CSV (no ids, cards or merchants; time in seconds; anonymous
    /// numeric columns; a 0/1 class): its own columns become features and carry the signal.
    @Test func mappedCSVColumnsReplayAsFeatures() throws {
        var g = SystemRandomNumberGeneratorSeeded(seed: 5)
        var text = "Time,V1,V2,Amount,Class\n"
        for i in 0..<3000 {
            let isFraud = g.next() % 50 == 0
            let v1 = isFraud ? 6 + Double(g.next() % 100) / 100 : Double(g.next() % 200) / 100 - 1
            let v2 = Double(g.next() % 200) / 100 - 1
            text += "\(i * 30),\(v1),\(v2),\(Double(g.next() % 5000) / 100 + 1),\(isFraud ? 1 : 0)\n"
        }
        let path = try Support.temporaryFile("creditcard.csv", text)
        let mapping = try CSVColumnMapping.parse("id=none,time=Time,time_unit=s,label=Class,amount=Amount,card=none,merchant=none,features=*")
        let input = try ReplayInputReader(mapping: mapping).read(events: path)
        #expect(input.featureColumns == ["V1", "V2"])
        // No card, merchant or other entity column: no feature may stand on a shared pseudo-entity.
        #expect(input.absentFields == Set(EventField.allCases))
        var c = Support.configuration()
        c.featureSpec = ReplayConfiguration.spec(for: input)
        let names = c.featureSpec.denseNames
        #expect(!names.contains { $0.hasPrefix("card.") || $0.hasPrefix("merchant.") || $0.hasPrefix("terminal.") }, "\(names)")
        #expect(names.contains("amount") && names.contains("features.V1") && names.contains("features.V2"))
        #expect(c.featureSpec.sparseNames == ["time.hour"], "only inputs of fields the CSV has: \(c.featureSpec.sparseNames)")
        c.warmUpEvents = 256
        c.labelDelay = .events(50)
        let m = try ReplayRunner.run(input, configuration: c).metrics
        let rate = try #require(m.fraudRate), auprc = try #require(m.auprc)
        #expect(auprc > 5 * rate, "AUPRC \(auprc) vs fraud rate \(rate)")
        // Card precision is not applicable without cards: no day reports one.
        #expect(!m.cardPrecisionApplicable && m.days.allSatisfy { $0.cardPrecisionAtK == nil && $0.cardsRanked == 0 })

        // With the card column mapped, the card features come back.
        let withCards = try ReplayInputReader(mapping: CSVColumnMapping.parse("id=none,time=Time,time_unit=s,label=Class,amount=Amount,card=V2,merchant=none,features=V1"))
            .read(events: path)
        #expect(!withCards.absentFields.contains(.card) && withCards.absentFields.contains(.merchant))
        let spec = ReplayConfiguration.spec(for: withCards).denseNames
        #expect(spec.contains("card.count_1h") && !spec.contains("card.new_merchant") && !spec.contains("merchant.risk"))
    }
}

struct ScoresOutputTests {
    /// `--scores-out` holds one row per event whose figures reproduce metrics.json (AUPRC of
    /// the evaluated rows, both halves), and `--evaluate-from` moves where the metrics start.
    @Test func scoresRowsMatchTheMetrics() throws {
        let input = Support.simulated(transactions: 6000)
        var c = Support.configuration()
        c.evaluateFrom = .event(3000)
        let result = try ReplayRunner.run(input, configuration: c)
        let m = result.metrics
        #expect(m.warmUpEvents == 3000 && m.evaluatedEvents == input.truth[3000...].filter { $0 != .unknown }.count)
        #expect(m.configuration["evaluate_from"] == "event 3000")
        // Inside a directory that does not exist yet (as --scores-out inside --out is).
        let path = URL(fileURLWithPath: try Support.temporaryFile("unused", "")).deletingLastPathComponent()
            .appendingPathComponent("out/run").appendingPathComponent("scores.csv").path
        try ScoresCSV.write(result, input: input, to: path)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == ScoresCSV.header)
        #expect(lines.count == input.events.count + 1)
        var scores: [Float] = [], fraud: [Bool] = [], versions = Set<Int64>()
        for (k, line) in lines.dropFirst().enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(f.count == 8 && Int(f[0]) == k && f[1] == input.events[k].eventID)
            #expect(Float(f[3]) == result.risks[k])
            versions.insert(Int64(f[6])!)
            guard k >= 3000, !f[7].isEmpty else { continue }
            scores.append(Float(f[3])!)
            fraud.append(f[7] == "1")
        }
        #expect(BinaryMetrics(scores: scores, isFraud: fraud).auprc == m.auprc)
        let half = scores.count / 2
        #expect(BinaryMetrics(scores: Array(scores[..<half]), isFraud: Array(fraud[..<half])).auprc == m.auprcFirstHalf)
        #expect(BinaryMetrics(scores: Array(scores[half...]), isFraud: Array(fraud[half...])).auprc == m.auprcSecondHalf)
        #expect(versions.count > 1, "the rows name the model version that scored them")
        #expect(EvaluationStart.parse("2026-03-01T00:00:00Z") == .time(millis: 1_772_323_200_000))
        #expect(EvaluationStart.parse("-1") == nil && EvaluationStart.parse("soon") == nil)
    }
}
