// One model version: the autoencoder and the classifier with their training state, the frozen
// pair the scorer uses, and the version's lineage and checksum. Immutable once built, so
// publishing it is one reference swap and a scorer holding it can never see it change.
import Foundation
import Synchronization
import VigilML

/// An immutable, versioned pair of models. Build a new one for every change; never mutate.
public final class ModelSet: Sendable {
    /// Registry version (the `version` of vigil.models); grows with every promotion.
    public let version: Int64
    /// The version this one was trained from; nil for a cold start or a loaded root.
    public let parent: Int64?
    /// Milliseconds since 1970 when this version was built.
    public let createdAtMillis: Int64
    /// The feature spec the models were trained on (`FeatureSpec.specHash`).
    public let featureSpecHash: UInt64
    public let architecture: ModelArchitecture
    /// Training state (Float32 master weights, optimiser moments): where the trainer resumes.
    public let autoencoder: ContrastiveAutoencoder
    public let classifier: SparseClassifier
    /// The frozen pair the scorer runs (sparse, mixed-precision snapshots of the above).
    public let scorer: Scorer
    public let metrics: ModelMetrics
    /// Hex SHA-256 of `encoded()`: the `checksum` column of vigil.models. Worked out on first
    /// use (or by `encoded()`), not when the set is built: encoding and hashing megabytes of
    /// weights was over a quarter of a training round, and a replay never stores its rounds.
    public var checksum: String {
        if let known = knownChecksum.withLock({ $0 }) { return known }
        return SHA256.hex(Array(encoded().suffix(32)))
    }
    /// Set once by `encoded()`; the set is immutable, so every computation gives the same value.
    private let knownChecksum = Mutex<String?>(nil)

    /// Whether the classifier has learned from labels. Until it has, its output is noise
    /// and the risk comes from the autoencoder alone.
    public var classifierIsTrained: Bool { classifier.steps > 0 }
    public var featureWidth: Int { scorer.featureWidth }

    public convenience init(version: Int64, parent: Int64?, createdAtMillis: Int64, featureSpecHash: UInt64,
                            architecture: ModelArchitecture, autoencoder: ContrastiveAutoencoder, classifier: SparseClassifier,
                            metrics: ModelMetrics) throws {
        try self.init(version: version, parent: parent, createdAtMillis: createdAtMillis, featureSpecHash: featureSpecHash,
                      architecture: architecture, autoencoder: autoencoder, classifier: classifier, metrics: metrics, frozen: nil)
    }

    /// `frozen`: the scorer already made from exactly these models and the architecture's
    /// precisions (a training round freezes its candidate to judge it), so it is not made twice.
    init(version: Int64, parent: Int64?, createdAtMillis: Int64, featureSpecHash: UInt64,
         architecture: ModelArchitecture, autoencoder: ContrastiveAutoencoder, classifier: SparseClassifier,
         metrics: ModelMetrics, frozen: Scorer?) throws {
        self.version = version
        self.parent = parent
        self.createdAtMillis = createdAtMillis
        self.featureSpecHash = featureSpecHash
        self.architecture = architecture
        self.autoencoder = autoencoder
        self.classifier = classifier
        self.metrics = metrics
        if let frozen {
            scorer = frozen
            return
        }
        do {
            scorer = try ModelSet.freeze(autoencoder: autoencoder, classifier: classifier, architecture: architecture)
        } catch {
            throw EngineError.wrapping(error, "cannot freeze model set \(version)")
        }
    }

    func rememberChecksum(_ hex: String) {
        knownChecksum.withLock { $0 = hex }
    }

    /// The same models under another version number and lineage (loading, re-promoting).
    public func renumbered(version: Int64, parent: Int64?) throws -> ModelSet {
        try ModelSet(version: version, parent: parent, createdAtMillis: createdAtMillis, featureSpecHash: featureSpecHash,
                     architecture: architecture, autoencoder: autoencoder, classifier: classifier, metrics: metrics)
    }

    /// A first model set for a service with an empty registry: the autoencoder trained for
    /// `epochs` passes over warm-up rows of early traffic (count × featureWidth, batch-major)
    /// and its normal region fitted on them; the classifier fresh (it waits for labels).
    public static func coldStart(featureSpecHash: UInt64, featureWidth: Int, sparseDimension: Int,
                                 architecture: ModelArchitecture = ModelArchitecture(),
                                 warmUpRows rows: [Float], count n: Int, epochs: Int = 3,
                                 version: Int64 = 1, createdAtMillis: Int64? = nil) throws -> ModelSet {
        guard n >= 64 else { throw EngineError(.notEnoughData, "a cold start needs at least 64 warm-up events, got \(n)") }
        guard rows.count == n * featureWidth else {
            throw EngineError(.modelFailure, "warm-up rows hold \(rows.count) values, expected \(n) × \(featureWidth)")
        }
        do {
            var autoencoder = try ContrastiveAutoencoder(configuration: architecture.autoencoderConfiguration(featureWidth: featureWidth))
            let classifier = try SparseClassifier(configuration: architecture.classifierConfiguration(
                featureWidth: featureWidth, sparseDimension: sparseDimension))
            let batch = 64
            for _ in 0..<max(epochs, 0) {
                for start in stride(from: 0, to: n - batch + 1, by: batch) {
                    try autoencoder.train(rows: Array(rows[(start * featureWidth)..<((start + batch) * featureWidth)]), count: batch)
                }
            }
            try autoencoder.fitNormalRegion(rows: rows, count: n)
            let metrics = ModelMetrics(autoencoderSteps: autoencoder.steps, classifierSteps: 0)
            return try ModelSet(version: version, parent: nil,
                                createdAtMillis: createdAtMillis ?? Int64(Date().timeIntervalSince1970 * 1000),
                                featureSpecHash: featureSpecHash, architecture: architecture,
                                autoencoder: autoencoder, classifier: classifier, metrics: metrics)
        } catch {
            throw EngineError.wrapping(error, "cold start failed")
        }
    }
}
