// `tools/bench replay`: a backtest over 1,000,000 generated events with online learning on,
// next to the rate of merely reading and decoding the same file in the same run.
import ArgumentParser
import Foundation
import VigilEngine
import VigilReplay
import VigilSimulator

struct ReplayBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay rate (read, decode, score, decide, learn) vs the rate of reading and decoding the same JSONL file."
    )

    @Option(help: "Generated events.") var events = 1_000_000
    @Option(help: "Label delay: N events, a duration of event time, or 'recorded' (the simulator's label times).") var labelDelay = "recorded"
    @Option(help: "Events per scoring batch.") var batchSize = 256
    @Option(help: "Learner settings as key=value pairs (as vigil replay --trainer; default: serve's).") var trainer: String?
    @Flag(inversion: .prefixedNo, help: "Also replay with the models frozen (no learning): how fast everything but training runs, in the same run.")
    var frozen = true

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
        let began = clock.now
        let decoded = try ReplayInputReader().read(events: path, labels: labelsPath)
        let decodeSeconds = (clock.now - began) / .seconds(1)
        print("read + decode: \(decoded.events.count) events in \(String(format: "%.2f", decodeSeconds)) s: \(BenchReport.rate(Double(decoded.events.count) / decodeSeconds))")

        var c = ReplayConfiguration()
        guard let delay = LabelDelay.parse(labelDelay) else { throw ValidationError("--label-delay: N events, 72h, or recorded") }
        c.labelDelay = delay
        c.batchSize = batchSize
        if let trainer { c.trainer = try c.trainer.applying(settings: trainer) }
        let (result, replaySeconds, readSeconds) = try replay(path: path, labelsPath: labelsPath, configuration: c)
        var frozenRate: Double?
        if frozen {
            var f = c
            f.freeze = true
            let (r, t, _) = try replay(path: path, labelsPath: labelsPath, configuration: f)
            frozenRate = Double(r.metrics.events) / t
        }
        let m = result.metrics
        let replayRate = Double(m.events) / replaySeconds, decodeRate = Double(decoded.events.count) / decodeSeconds
        print("replay (read, decode, score, decide, learn): \(m.events) events in \(String(format: "%.2f", replaySeconds)) s: \(BenchReport.rate(replayRate)); "
              + "\(m.promotions.count) publication checks; learning took \(String(format: "%.2f", result.timing.trainingSeconds)) s, cold start \(String(format: "%.2f", result.timing.coldStartSeconds)) s")
        let t = result.timing
        print("  where the time went: read + decode \(String(format: "%.2f", readSeconds)) s, cold start \(String(format: "%.2f", t.coldStartSeconds)) s, "
              + "features \(String(format: "%.2f", t.featureSeconds)) s on the other core (waited for: \(String(format: "%.2f", t.featureWaitSeconds)) s), "
              + "models + decisions \(String(format: "%.2f", t.scoringSeconds)) s, trainer hand-over (observe, labels, publications) \(String(format: "%.2f", t.learningSeconds)) s, "
              + "waiting for the learner \(String(format: "%.2f", t.trainingWaitSeconds)) s, metrics \(String(format: "%.2f", t.metricsSeconds)) s; "
              + "learning on its own thread \(String(format: "%.2f", t.trainingSeconds)) s")
        let outcomes = Dictionary(grouping: m.promotions, by: \.outcome).mapValues(\.count)
        print("  publication checks by outcome: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        if let frozenRate { print("the same with the models frozen (no learning: read, decode, features, models, decisions, metrics): \(BenchReport.rate(frozenRate))") }
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
            "publication_checks": m.promotions.count,
            "promotions": m.promotions.filter { $0.outcome == "promoted" }.count,
            "training_seconds": (result.timing.trainingSeconds * 100).rounded() / 100,
            // Time the replay thread waited for the learner, and its rate without that wait.
            "training_wait_seconds": (result.timing.trainingWaitSeconds * 100).rounded() / 100,
            "replay_outside_waits_per_s": (Double(m.events) / max(replaySeconds - result.timing.trainingWaitSeconds, 1e-9)).rounded(),
            // The replay's wall time by stage (see ReplayTiming); the rest is loop bookkeeping.
            "stage_read_seconds": (readSeconds * 100).rounded() / 100,
            "stage_scoring_seconds": (result.timing.scoringSeconds * 100).rounded() / 100,
            "stage_features_seconds": (result.timing.featureSeconds * 100).rounded() / 100,
            "stage_features_wait_seconds": (result.timing.featureWaitSeconds * 100).rounded() / 100,
            "stage_learning_seconds": (result.timing.learningSeconds * 100).rounded() / 100,
            "stage_metrics_seconds": (result.timing.metricsSeconds * 100).rounded() / 100,
            "replay_frozen_per_s": frozenRate.map { $0.rounded() } ?? NSNull(),
            "auprc": m.auprc.map { ($0 * 10000).rounded() / 10000 } ?? NSNull(),
            "fraud_rate": m.fraudRate.map { ($0 * 10000).rounded() / 10000 } ?? NSNull(),
        ])
    }

    /// Reads, decodes and replays (the figure the target is about), with a progress line on a terminal.
    func replay(path: String, labelsPath: String, configuration c: ReplayConfiguration) throws -> (ReplayResult, Double, Double) {
        let clock = ContinuousClock()
        let tty = isatty(STDERR_FILENO) == 1
        let began = clock.now
        let input = try ReplayInputReader().read(events: path, labels: labelsPath)
        let readSeconds = (clock.now - began) / .seconds(1)
        let result = try ReplayRunner.run(input, configuration: c) { done in
            if tty, done & 0xFFFF < batchSize { FileHandle.standardError.write(Data("\rreplayed \(done)/\(input.events.count)   ".utf8)) }
        }
        let replaySeconds = (clock.now - began) / .seconds(1)
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        return (result, replaySeconds, readSeconds)
    }
}
