// The traffic an INT8 model set calibrates its activation codes on, kept with the set so
// every publication (and every decode) freezes the same way.
import VigilML

/// A sample of recent events as the scorer sees them: dense feature rows and, when the
/// classifier uses them, each event's hashed sparse indices.
public struct CalibrationEvents: Sendable, Equatable {
    public let count: Int
    public let featureWidth: Int
    /// count × featureWidth, batch-major.
    public let features: [Float]
    /// Per-event index lists; nil when the classifier takes no sparse inputs.
    public let sparse: SparseBatch?

    public init(features: [Float], featureWidth: Int, sparse: SparseBatch?) throws {
        guard featureWidth > 0, !features.isEmpty, features.count % featureWidth == 0 else {
            throw EngineError(.invalidConfiguration, "calibration events: \(features.count) values are not whole rows of \(featureWidth)")
        }
        count = features.count / featureWidth
        if let sparse, sparse.count != count {
            throw EngineError(.invalidConfiguration, "calibration events: \(sparse.count) sparse lists for \(count) events")
        }
        self.featureWidth = featureWidth
        self.features = features
        self.sparse = sparse
    }
}

extension ModelSet {
    /// The scorer a set's architecture asks for: Float32/Float16 snapshots, or with
    /// `int8Calibration` both models as INT8, calibrated on those events (the classifier on
    /// the INT8 autoencoder's score and embedding, which is what it will be fed).
    static func freeze(autoencoder: ContrastiveAutoencoder, classifier: SparseClassifier, architecture: ModelArchitecture) throws -> Scorer {
        guard let events = architecture.int8Calibration else {
            return try Scorer(anomaly: autoencoder.snapshot(precision: architecture.autoencoderPrecision),
                              classifier: classifier.snapshot(precision: architecture.classifierPrecision))
        }
        let n = events.count
        let anomaly = try autoencoder.quantizedSnapshot(calibration: events.features, count: n)
        let rows = classifier.configuration.denseWidth == autoencoder.configuration.inputWidth
            ? events.features : try anomaly.withAnomalyInputs(rows: events.features, count: n)
        let sparse = classifier.configuration.hashBuckets > 0 ? events.sparse : nil
        return try Scorer(anomaly: anomaly, classifier: classifier.quantizedSnapshot(calibration: rows, sparse: sparse, count: n))
    }
}
