// `tools/bench quality`: Vigil's detection against a per-label online logistic regression over
// the same features and label delay, on every quality stream, in one run.
import ArgumentParser
import Foundation
import VigilML
import VigilReplay
import VigilSimulator

struct QualityBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "AUPRC of vigil replay's defaults vs a per-label online logistic regression (same features, same label delay), per stream and half."
    )

    @Option(help: "Events of the simulated (vigil gen) streams.") var events = 1_000_000
    @Option(help: "Rows of the drifting anonymous-column CSV stream.") var csvRows = 300_000
    @Option(help: "Label delays (in events) of the simulated streams, comma-separated.") var genDelays = "1000,10000"
    @Option(help: "Label delay (in events) of the CSV stream.") var csvDelay = 10_000
    @Option(help: "Learning rates of the yardstick; the best one on each stream is the yardstick.") var yardstickRates = "0.001,0.01,0.1"
    @Option(help: "Learner settings as key=value pairs (as vigil replay --trainer; default: serve's).") var trainer: String?
    @Option(help: "Only these streams (comma-separated names: gen-1000, gen-10000, csv-drift).") var only: String?
    @Option(help: "Keep the generated streams in this directory (transactions.jsonl, labels.jsonl, drifting.csv) instead of a temporary one, e.g. to replay them with vigil replay.") var dataDir: String?
    @Option(help: "Also write each stream's per-event scores (index, truth, Vigil's risk, the yardstick's) to DIR/<stream>.csv.") var scoresDir: String?

    struct Stream {
        var name: String
        var input: ReplayInput
        var configuration: ReplayConfiguration
    }

    struct Figures {
        var vigil: (all: Double?, first: Double?, second: Double?)
        var yardstick: (all: Double?, first: Double?, second: Double?)
        var yardstickRate: Float
        var frauds: Int
        var evaluated: Int
        var replayPerSecond: Double
        var publications: Int
    }

    func run() throws {
        let rates = yardstickRates.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        let delays = genDelays.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.allSatisfy({ $0 > 0 }), !delays.isEmpty, delays.allSatisfy({ $0 >= 1 }), csvDelay >= 1 else {
            throw ValidationError("--yardstick-rates must be positive numbers, delays at least 1")
        }
        let dir = dataDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-quality-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if dataDir == nil { try? FileManager.default.removeItem(at: dir) } }

        let chosen = only.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        func wanted(_ name: String) -> Bool { chosen?.contains(name) ?? true }
        var streams: [Stream] = []
        var base = ReplayConfiguration()
        if let trainer { base.trainer = try base.trainer.applying(settings: trainer) }
        let wantGen = delays.contains { wanted("gen-\($0)") }
        if wantGen {
            let (events, labels) = try simulated(into: dir)
            let input = try ReplayInputReader().read(events: events, labels: labels)
            for delay in delays where wanted("gen-\(delay)") {
                var c = base
                c.name = "gen-\(delay)"
                c.labelDelay = .events(delay)
                c.featureSpec = ReplayConfiguration.spec(for: input)
                streams.append(Stream(name: c.name, input: input, configuration: c))
            }
        }
        if wanted("csv-drift") {
            let path = dir.appendingPathComponent("drifting.csv").path
            var csv = DriftingMixtureStream()
            csv.rows = csvRows
            let frauds = try csv.write(to: path)
            print("generated \(csvRows) CSV rows (Time, V1..V\(csv.components), Amount, Class; \(frauds) fraud, drifting) into \(path)")
            let input = try ReplayInputReader(mapping: try CSVColumnMapping.parse(DriftingMixtureStream.mapping)).read(events: path)
            var c = base
            c.name = "csv-drift"
            c.labelDelay = .events(csvDelay)
            c.featureSpec = ReplayConfiguration.spec(for: input)
            streams.append(Stream(name: c.name, input: input, configuration: c))
        }

        var json: [String: Any] = ["bench": "quality", "target_ratio": 1.25]
        var worst = Double.infinity
        for s in streams {
            let f = try measure(s, rates: rates)
            func a(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
            func ratio(_ v: Double?, _ y: Double?) -> Double? { v.flatMap { v in y.flatMap { $0 > 0 ? v / $0 : nil } } }
            let ratios = (ratio(f.vigil.all, f.yardstick.all), ratio(f.vigil.first, f.yardstick.first), ratio(f.vigil.second, f.yardstick.second))
            print("\(s.name): \(f.evaluated) events evaluated, \(f.frauds) fraud, label delay \(s.configuration.labelDelay)")
            print("  Vigil     AUPRC \(a(f.vigil.all)) (first half \(a(f.vigil.first)), second half \(a(f.vigil.second))); replay \(BenchReport.rate(f.replayPerSecond)), \(f.publications) publications")
            print("  yardstick AUPRC \(a(f.yardstick.all)) (first half \(a(f.yardstick.first)), second half \(a(f.yardstick.second))); online logistic regression, learning rate \(f.yardstickRate)")
            print("  ratio \(a(ratios.0)) (first half \(a(ratios.1)), second half \(a(ratios.2))); target 1.25 on every stream and half")
            for r in [ratios.0, ratios.1, ratios.2] { worst = min(worst, r ?? 0) }
            let key = s.name.replacingOccurrences(of: "-", with: "_")
            json["\(key)_vigil_auprc"] = round4(f.vigil.all)
            json["\(key)_vigil_auprc_first_half"] = round4(f.vigil.first)
            json["\(key)_vigil_auprc_second_half"] = round4(f.vigil.second)
            json["\(key)_yardstick_auprc"] = round4(f.yardstick.all)
            json["\(key)_yardstick_auprc_first_half"] = round4(f.yardstick.first)
            json["\(key)_yardstick_auprc_second_half"] = round4(f.yardstick.second)
            json["\(key)_ratio"] = round4(ratios.0)
            json["\(key)_ratio_first_half"] = round4(ratios.1)
            json["\(key)_ratio_second_half"] = round4(ratios.2)
            json["\(key)_replay_per_s"] = f.replayPerSecond.rounded()
            json["\(key)_frauds"] = f.frauds
        }
        json["worst_ratio"] = worst.isFinite ? round4(worst) : NSNull()
        print("worst ratio over streams and halves: \(worst.isFinite ? String(format: "%.3f", worst) : "-") (target 1.25)")
        try BenchReport.finish(json)
    }

    /// The replay with the stream's configuration, and the yardstick at each rate over the same
    /// features, label moments and evaluated events.
    func measure(_ s: Stream, rates: [Float]) throws -> Figures {
        let clock = ContinuousClock(), began = clock.now
        let result = try ReplayRunner.run(s.input, configuration: s.configuration)
        let seconds = (clock.now - began) / .seconds(1)
        let m = result.metrics
        // The replay's evaluated events: after the warm-up, truth known; split in halves by count.
        let from = m.warmUpEvents
        let evaluated = (from..<s.input.events.count).filter { s.input.truth[$0] != .unknown }
        let fraud = evaluated.map { s.input.truth[$0] == .fraud }
        var best: (all: Double?, first: Double?, second: Double?, rate: Float, scores: [Float])?
        for rate in rates {
            let scores = try OnlineLogisticYardstick.run(s.input, configuration: s.configuration, learningRate: rate)
            let mine = evaluated.map { scores[$0] }
            let half = mine.count / 2
            let all = BinaryMetrics(scores: mine, isFraud: fraud).auprc
            let first = BinaryMetrics(scores: Array(mine[..<half]), isFraud: Array(fraud[..<half])).auprc
            let second = BinaryMetrics(scores: Array(mine[half...]), isFraud: Array(fraud[half...])).auprc
            print("  (yardstick at learning rate \(rate): AUPRC \(all.map { String(format: "%.4f", $0) } ?? "-"))")
            if best == nil || (all ?? 0) > (best!.all ?? 0) { best = (all, first, second, rate, scores) }
        }
        if let scoresDir {
            try FileManager.default.createDirectory(atPath: scoresDir, withIntermediateDirectories: true)
            var text = "index,truth,vigil_risk,yardstick\n"
            for i in s.input.events.indices {
                let t = s.input.truth[i] == .unknown ? "" : s.input.truth[i] == .fraud ? "1" : "0"
                text += "\(i),\(t),\(result.risks[i]),\(best!.scores[i])\n"
            }
            try text.write(toFile: "\(scoresDir)/\(s.name).csv", atomically: false, encoding: .utf8)
        }
        return Figures(vigil: (m.auprc, m.auprcFirstHalf, m.auprcSecondHalf), yardstick: (best!.all, best!.first, best!.second),
                       yardstickRate: best!.rate, frauds: m.frauds, evaluated: m.evaluatedEvents,
                       replayPerSecond: Double(m.events) / seconds, publications: m.promotions.filter { $0.outcome == "promoted" }.count)
    }

    /// `events` simulated transactions as JSONL with their truth, and vigil gen's labels.
    func simulated(into dir: URL) throws -> (events: String, labels: String) {
        let path = dir.appendingPathComponent("transactions.jsonl").path
        let labelsPath = dir.appendingPathComponent("labels.jsonl").path
        var simulator = SimulatorConfiguration()
        simulator.seed = 11
        var text = "", labels = ""
        text.reserveCapacity(events * 300)
        for record in TransactionSimulator(configuration: simulator, maxTransactions: events) {
            switch record {
            case .transaction(let t): text += t.json(truth: true); text += "\n"
            case .label(let l): labels += l.json(); labels += "\n"
            }
        }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try labels.write(toFile: labelsPath, atomically: false, encoding: .utf8)
        print("generated \(events) simulated events (vigil gen's world, seed 11) and their labels (every fraud, \(Int(simulator.legitLabelRate * 100))% of legit)")
        return (path, labelsPath)
    }

    func round4(_ v: Double?) -> Any { v.map { ($0 * 10000).rounded() / 10000 } ?? NSNull() }
}
