// A model version as a row of vigil.models: what the service writes on promotion and reads
// at start-up. Columns only; the SQL lives in VigilService.
import Foundation

/// The stored form of one model version.
public struct ModelRecord: Sendable, Equatable {
    public var version: Int64
    public var parent: Int64?
    public var createdAtMillis: Int64
    /// `ModelMetrics` as JSON (snake_case keys), for a jsonb column.
    public var metricsJSON: String
    /// `ModelSet.encoded()`: the weights blob.
    public var weights: [UInt8]
    /// Hex SHA-256, equal to `ModelSet.checksum`.
    public var checksum: String

    public init(version: Int64, parent: Int64?, createdAtMillis: Int64, metricsJSON: String, weights: [UInt8], checksum: String) {
        self.version = version
        self.parent = parent
        self.createdAtMillis = createdAtMillis
        self.metricsJSON = metricsJSON
        self.weights = weights
        self.checksum = checksum
    }
}

extension ModelSet {
    /// The row to insert for this version.
    public var record: ModelRecord {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(metrics)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ModelRecord(version: version, parent: parent, createdAtMillis: createdAtMillis, metricsJSON: json,
                           weights: encoded(), checksum: checksum)
    }

    /// Loads a stored version, refusing a blob whose checksum or identity differs from its row.
    public convenience init(record: ModelRecord) throws {
        let decoded = try ModelSet.decode(record.weights)
        guard decoded.checksum == record.checksum else {
            throw EngineError(.corruptModelSet, "model \(record.version): stored checksum \(record.checksum) differs from the weights' \(decoded.checksum)")
        }
        guard decoded.version == record.version, decoded.parent == record.parent else {
            throw EngineError(.corruptModelSet, "model row \(record.version) holds the weights of version \(decoded.version)")
        }
        try self.init(version: decoded.version, parent: decoded.parent, createdAtMillis: decoded.createdAtMillis,
                      featureSpecHash: decoded.featureSpecHash, architecture: decoded.architecture,
                      autoencoder: decoded.autoencoder, classifier: decoded.classifier, metrics: decoded.metrics)
    }
}
