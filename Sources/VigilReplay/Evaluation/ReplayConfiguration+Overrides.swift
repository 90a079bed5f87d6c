// `--compare`: a second configuration as key=value changes to the first.

extension ReplayConfiguration {
    /// This configuration with `key=value` pairs (comma-separated) changed: name, models, freeze,
    /// label_delay, train_every, seed, warm_up, batch_size. The name defaults to "<name>-compare".
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
            case "model": continue
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
