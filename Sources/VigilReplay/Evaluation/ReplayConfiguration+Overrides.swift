// `--compare`: a second configuration as key=value changes to the first; `--trainer`: cheaper or
// costlier training rounds.
import VigilEngine

extension ReplayConfiguration {
    /// This configuration with `key=value` pairs (comma-separated) changed: name, models, freeze,
    /// label_delay, seed, warm_up, batch_size, and trainer.<setting>
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
            case "batch_size": c.batchSize = try Int(v).flatMap { $0 > 0 ? $0 : nil } ?? { throw bad("a positive number") }()
            case "seed": c.seed = try UInt64(v) ?? { throw bad("a number") }()
            case "warm_up": c.warmUpEvents = try Int(v).flatMap { $0 >= 64 ? $0 : nil } ?? { throw bad("at least 64") }()
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
    /// Settings a replay may change, by name: the learner's schedule. serve's defaults stay the
    /// replay's defaults, so a backtest measures what production runs. Durations in milliseconds
    /// (of event time, in a replay).
    public static let replayableSettings = ["labels_per_step", "frauds_per_step", "rehearsal_per_step", "fraud_memory", "legit_memory",
                                            "minimum_labels", "traffic_sample_every", "autoencoder_batch", "autoencoder_labelled",
                                            "normal_region_sample", "normal_region_refit_steps", "publish_every_labels",
                                            "publish_interval_ms", "publish_minimum_labels", "minimum_publish_gap_ms", "guard_window", "guard_minimum_frauds",
                                            "recent_capacity"]

    /// This configuration with one setting changed (`labels_per_step=64`).
    public func applying(_ key: String, _ value: String) throws -> OnlineTrainerConfiguration {
        guard let n = Int(value), n >= 0 else { throw ReplayError(.invalidConfiguration, "trainer setting \(key): '\(value)' is not a count") }
        var c = self
        switch key {
        case "labels_per_step": c.labelsPerStep = n
        case "frauds_per_step": c.fraudsPerStep = n
        case "rehearsal_per_step": c.rehearsalPerStep = n
        case "fraud_memory": c.fraudMemory = n
        case "legit_memory": c.legitMemory = n
        case "minimum_labels": c.minimumLabels = n
        case "traffic_sample_every": c.trafficSampleEvery = n
        case "autoencoder_batch": c.autoencoderBatch = n
        case "autoencoder_labelled": c.autoencoderLabelled = n
        case "normal_region_sample": c.normalRegionSample = n
        case "normal_region_refit_steps": c.normalRegionRefitSteps = n
        case "publish_every_labels": c.publishEveryLabels = n
        case "publish_interval_ms": c.publishInterval = .milliseconds(n)
        case "publish_minimum_labels": c.publishMinimumLabels = n
        case "minimum_publish_gap_ms": c.minimumPublishGap = .milliseconds(n)
        case "guard_window": c.guardWindow = n
        case "guard_minimum_frauds": c.guardMinimumFrauds = n
        case "recent_capacity": c.recentCapacity = n
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
