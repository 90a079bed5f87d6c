// Settings of learning across a consumer group: the training topic every instance sends its
// joined examples to, and the lease that makes one instance the group's learner. Read from
// the `learner` object of the JSON config file and the environment, like the rest of
// ServeConfiguration.
import Foundation

public struct LearnerGroupConfiguration: Sendable, Equatable {
    /// The topic that carries every instance's labelled examples to the group's learner.
    /// Create it ahead like the transactions topic; one partition keeps the learner's order
    /// the order the examples were sent in (a single instance then learns exactly what it
    /// learnt before the topic existed). Default: "vigil-training" (file
    /// `learner.training_topic`, env VIGIL_TRAINING_TOPIC).
    public var trainingTopic = "vigil-training"
    /// How long the learner lease lasts without a renewal: after the learner dies or stalls
    /// this long, another instance takes the role. The learner renews every third of it.
    /// Default: 6 s (file `learner.lease_ttl_ms`).
    public var leaseTTL: Duration = .seconds(6)
    /// librdkafka's `compression.codec` for the training topic's producer (`lz4`, `zstd`,
    /// `gzip`, `snappy` or `none`). Default: "lz4" (file `learner.compression`).
    public var compression = "lz4"

    public init() {}

    struct FileSettings: Decodable {
        struct Learner: Decodable {
            var training_topic: String?
            var lease_ttl_ms: Int?
            var compression: String?
        }
        var learner: Learner?
    }

    /// Applies the `learner` object of a config file already read (other keys are ignored).
    mutating func apply(fileData data: Data, file: String) throws {
        let settings: FileSettings
        do { settings = try JSONDecoder().decode(FileSettings.self, from: data) } catch {
            throw ServiceError(.invalidConfiguration, "config file \(file) is not valid", underlying: error)
        }
        guard let learner = settings.learner else { return }
        if let v = learner.training_topic { trainingTopic = v }
        if let v = learner.lease_ttl_ms { leaseTTL = .milliseconds(v) }
        if let v = learner.compression { compression = v }
    }

    mutating func apply(environment: [String: String]) {
        if let v = environment["VIGIL_TRAINING_TOPIC"], !v.isEmpty { trainingTopic = v }
    }

    public func validate() throws {
        guard !trainingTopic.isEmpty else { throw ServiceError(.invalidConfiguration, "learner.training_topic must not be empty") }
        guard leaseTTL >= .milliseconds(300), leaseTTL <= .seconds(600) else {
            throw ServiceError(.invalidConfiguration, "learner.lease_ttl_ms must be in 300...600000, got \(leaseTTLMillis)")
        }
        guard ["lz4", "zstd", "gzip", "snappy", "none"].contains(compression) else {
            throw ServiceError(.invalidConfiguration, "learner.compression must be lz4, zstd, gzip, snappy or none, got \(compression)")
        }
    }

    var leaseTTLMillis: Int {
        Int(leaseTTL.components.seconds * 1000 + leaseTTL.components.attoseconds / 1_000_000_000_000_000)
    }

    /// How often the learner renews the lease (and followers try to take it): a third of its TTL.
    var renewInterval: Duration { leaseTTL / 3 }
}
