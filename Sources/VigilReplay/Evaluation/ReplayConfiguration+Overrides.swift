// `--compare`: a second configuration as key=value changes to the first; `--trainer`: cheaper or
// costlier training rounds.
import VigilEngine

extension ReplayConfiguration {
    /// This configuration with `key=value` pairs (comma-separated) changed: name, models, freeze,
    /// label_delay, train_every, publish_delay, seed, warm_up, batch_size, and trainer.<setting>
    /// (see `OnlineTrainerConfiguration.applying`). The name defaults to "<name>-compare".
    /// A starting model (`model=`) is a file and is handled by the caller.
    public func applying(overrides text: String) throws -> ReplayConfiguration {
        var c = self
        c.name = name + "-compare"
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard kv.count == 2, !kv[1].isEmpty else { throw ReplayError(.invalidConfiguration, "compare setting '\(pair)' is not key=value") }
            let (k, v) = (kv[0], kv[1])
            func bad(_ what: String) -> ReplayError { ReplayError(.invalidConfiguration, "compare setting \(k): \(what)") }
            switch k {
            case "name": c.name = v
            case "models": c.models = try ReplayModels(rawValue: v) ?? { throw bad("cae, classifier or both") }()
            case "freeze":
                guard v == "true" || v == "false" else { throw bad("true or false") }
                c.freeze = v == "true"
            case "label_delay": c.labelDelay = try LabelDelay.parse(v) ?? { throw bad("N events, a duration like 72h, or recorded") }()
            case "train_every": c.trainEvery = try Int(v).flatMap { $0 > 0 ? $0 : nil } ?? { throw bad("a positive number") }()
            case "batch_size": c.batchSize = try Int(v).flatMap { $0 > 0 ? $0 : nil } ?? { throw bad("a positive number") }()
            case "seed": c.seed = try UInt64(v) ?? { throw bad("a number") }()
            case "warm_up": c.warmUpEvents = try Int(v).flatMap { $0 >= 64 ? $0 : nil } ?? { throw bad("at least 64") }()
            case "publish_delay": c.publishDelay = try Int(v).flatMap { $0 >= 0 ? $0 : nil } ?? { throw bad("a number of events ≥ 0") }()
            case "model": continue
            case _ where k.hasPrefix("trainer."): c.trainer = try c.trainer.applying(String(k.dropFirst("trainer.".count)), v)
            default: throw ReplayError(.invalidConfiguration, "unknown compare setting '\(k)'")
            }
        }
        if c.name == name { c.name += "-b" }
        try c.validate()
        return c
    }

    /// The `model=` value of compare overrides, if any ("none" = cold start).
    public static func modelOverride(in text: String) -> String? {
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            if kv.count == 2, kv[0] == "model" { return kv[1] }
        }
        return nil
    }
}

extension OnlineTrainerConfiguration {
    /// Settings a replay may change, by name: how much work a training round does. serve's
    /// defaults stay the replay's defaults, so a backtest measures what production runs.
    public static let replayableSettings = ["autoencoder_sample", "autoencoder_steps", "classifier_epochs", "batch_size",
                                            "recent_capacity", "labelled_capacity", "minimum_labels"]

    /// This configuration with one setting changed (`classifier_epochs=2`).
    public func applying(_ key: String, _ value: String) throws -> OnlineTrainerConfiguration {
        guard let n = Int(value), n >= 0 else { throw ReplayError(.invalidConfiguration, "trainer setting \(key): '\(value)' is not a count") }
        var c = self
        switch key {
        case "autoencoder_sample": c.autoencoderSample = n
        case "autoencoder_steps": c.autoencoderSteps = n
        case "classifier_epochs": c.classifierEpochs = n
        case "batch_size": c.batchSize = n
        case "recent_capacity": c.recentCapacity = n
        case "labelled_capacity": c.labelledCapacity = n
        case "minimum_labels": c.minimumLabels = n
        default:
            throw ReplayError(.invalidConfiguration, "unknown trainer setting '\(key)' (one of \(Self.replayableSettings.joined(separator: ", ")))")
        }
        do { try c.validate() } catch { throw ReplayError(.invalidConfiguration, "trainer setting \(key)=\(value) is out of range") }
        return c
    }

    /// This configuration with `key=value` pairs (comma-separated) changed.
    public func applying(settings text: String) throws -> OnlineTrainerConfiguration {
        var c = self
        for pair in text.split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard kv.count == 2 else { throw ReplayError(.invalidConfiguration, "trainer setting '\(pair)' is not key=value") }
            c = try c.applying(kv[0], kv[1])
        }
        return c
    }
}
