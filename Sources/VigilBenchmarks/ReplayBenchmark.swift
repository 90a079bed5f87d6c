// `tools/bench replay`: a backtest over 1,000,000 generated events with online learning on,
// next to the rate of merely reading and decoding the same file in the same run.
import ArgumentParser
import Foundation
import VigilReplay
import VigilSimulator

struct ReplayBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay rate (read, decode, score, decide, learn) vs the rate of reading and decoding the same JSONL file."
    )

    @Option(help: "Generated events.") var events = 1_000_000
    @Option(help: "A training round after every this many events.") var trainEvery = 100_000
    @Option(help: "Label delay: N events, a duration of event time, or 'recorded' (the simulator's label times).") var labelDelay = "recorded"
    @Option(help: "Events per scoring batch.") var batchSize = 256

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-replay-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("transactions.jsonl").path
        let labelsPath = dir.appendingPathComponent("labels.jsonl").path

        // The same simulator as `vigil gen --truth`, written as JSONL (ground truth in each line).
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
        text = ""
        labels = ""
        print("generated \(events) events into \(path), their labels (vigil gen's: every fraud, \(Int(simulator.legitLabelRate * 100))% of legit, delayed) into \(labelsPath)")

        let clock = ContinuousClock()
        // Baseline: read and decode only (the same reader the replay uses, the same files).
        var began = clock.now
        let decoded = try ReplayInputReader().read(events: path, labels: labelsPath)
        let decodeSeconds = Self.seconds(clock.now - began)
        print("read + decode: \(decoded.events.count) events in \(String(format: "%.2f", decodeSeconds)) s: \(BenchReport.rate(Double(decoded.events.count) / decodeSeconds))")

        var c = ReplayConfiguration()
        c.trainEvery = trainEvery
        guard let delay = LabelDelay.parse(labelDelay) else { throw ValidationError("--label-delay: N events, 72h, or recorded") }
        c.labelDelay = delay
        c.batchSize = batchSize
        let tty = isatty(STDERR_FILENO) == 1
        began = clock.now
        let input = try ReplayInputReader().read(events: path, labels: labelsPath)
        let result = try ReplayRunner.run(input, configuration: c) { done in
            if tty, done & 0xFFFF < batchSize { FileHandle.standardError.write(Data("\rreplayed \(done)/\(input.events.count)   ".utf8)) }
        }
        let replaySeconds = Self.seconds(clock.now - began)
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        let m = result.metrics
        let replayRate = Double(m.events) / replaySeconds, decodeRate = Double(decoded.events.count) / decodeSeconds
        print("replay (read, decode, score, decide, learn): \(m.events) events in \(String(format: "%.2f", replaySeconds)) s: \(BenchReport.rate(replayRate)); "
              + "training rounds \(m.promotions.count) took \(String(format: "%.2f", result.timing.trainingSeconds)) s, cold start \(String(format: "%.2f", result.timing.coldStartSeconds)) s")
        print("AUPRC \(m.auprc.map { String(format: "%.4f", $0) } ?? "-") at fraud rate \(m.fraudRate.map { String(format: "%.4f", $0) } ?? "-"), "
              + "ROC-AUC \(m.rocAUC.map { String(format: "%.4f", $0) } ?? "-"), \(m.labelsDelivered) labels delivered, final model version \(m.finalModelVersion)")
        try BenchReport.finish([
            "bench": "replay",
            "events": m.events,
            "replay_per_s": replayRate.rounded(),
            "decode_per_s": decodeRate.rounded(),
            "baseline_per_s": decodeRate.rounded(),
            "ratio": (replayRate / decodeRate * 1000).rounded() / 1000,
            "target_per_s": 500_000,
            "training_rounds": m.promotions.count,
            "training_seconds": (result.timing.trainingSeconds * 100).rounded() / 100,
            // The same run without the time spent inside synchronous training rounds (they run
            // on the replay thread so that promotions land at the same event in every run).
            "replay_outside_rounds_per_s": (Double(m.events) / max(replaySeconds - result.timing.trainingSeconds, 1e-9)).rounded(),
            "auprc": m.auprc.map { ($0 * 10000).rounded() / 10000 } ?? NSNull(),
            "fraud_rate": m.fraudRate.map { ($0 * 10000).rounded() / 10000 } ?? NSNull(),
        ])
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
