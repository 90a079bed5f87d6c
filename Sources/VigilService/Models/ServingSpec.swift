// The feature spec serve runs with. Serve configured with today's standard spec (the default,
// or config/features.json named) runs an earlier release's standard spec instead when the live
// model version was trained on it: a registry trained before an upgrade keeps scoring and
// learning after it, where the standard spec would refuse every version and decide nothing.
// Any other spec is used as configured.
import VigilEngine
import VigilFeatures

enum ServingSpec {
    /// The spec to run: `configured`, or the shipped spec whose hash is `liveSpecHash` when
    /// `configured` is today's standard (by hash: config/features.json is the same spec).
    static func choose(configured: FeatureSpec, liveSpecHash: UInt64?) -> FeatureSpec {
        guard configured.specHash == FeatureSpec.standard.specHash, let hash = liveSpecHash, hash != configured.specHash else { return configured }
        return FeatureSpec.shipped.first { $0.specHash == hash } ?? configured
    }

    /// `configuration` with the spec `choose` picks for the live version in `store`. A live
    /// version that cannot be read leaves the configuration as it is (serve's start-up then
    /// refuses it and says why).
    static func resolve(_ configuration: ServeConfiguration, store: ModelStore, log: ServiceLog) async -> ServeConfiguration {
        guard configuration.featureSpec.specHash == FeatureSpec.standard.specHash else { return configuration }
        let live: ModelSet?
        do { live = try await store.loadPromoted() } catch {
            log.warning("the live model version could not be read to choose the feature spec; running the standard spec",
                        ["error": .string("\(error)")])
            return configuration
        }
        let spec = choose(configured: configuration.featureSpec, liveSpecHash: live?.featureSpecHash)
        guard spec.specHash != configuration.featureSpec.specHash, let live else { return configuration }
        log.warning("the live model version was trained on an earlier release's standard feature spec; serving and learning with it",
                    ["version": .int(live.version), "feature_spec": .string(spec.specHashHex),
                     "standard": .string(FeatureSpec.standard.specHashHex)])
        var adopted = configuration
        adopted.featureSpec = spec
        return adopted
    }
}
