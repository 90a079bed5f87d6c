// Settings of the audit trail: which decisions keep their feature vector, and the key that
// signs the hash chain's links. Read from the `audit` object of the JSON config file, the
// environment and `vigil serve` flags, like the rest of ServeConfiguration.
import Foundation
import VigilAudit
import VigilEngine
import VigilFeatures

public struct AuditConfiguration: Sendable, Equatable {
    /// Which decisions store the feature vector that was scored (`decisions.features`).
    public enum FeatureVectors: String, Sendable, CaseIterable {
        /// Review and block decisions (the ones analysts label), plus the sampled share.
        case alerts
        /// Every decision (about 120 more bytes per row on the standard spec).
        case all
        /// None, not even alerts'.
        case none
    }

    /// Signs every chain link with this key file (`hmac-sha256:<base64>` or
    /// `ed25519:<base64>`; `vigil audit keygen` writes one). Default: nil, links unsigned
    /// (file `audit.signing_key_file`, env VIGIL_AUDIT_SIGNING_KEY_FILE, flag
    /// --audit-signing-key-file).
    public var signingKeyFile: String?
    /// Default: `.alerts` (file `audit.features`: "alerts", "all" or "none").
    public var features = FeatureVectors.alerts
    /// With `.alerts`, this share of the other decisions keeps its vector too, chosen by a hash
    /// of its Kafka coordinates (so a replay keeps the same ones): negatives and, once labels
    /// arrive, missed fraud for offline training. Default: 0.01 (file `audit.feature_sample_rate`).
    public var featureSampleRate = 0.01

    public init() {}

    struct FileSettings: Decodable {
        struct Audit: Decodable {
            var signing_key_file: String?
            var features: String?
            var feature_sample_rate: Double?
        }
        var audit: Audit?
    }

    /// Applies the `audit` object of a config file already read (other keys are ignored).
    mutating func apply(fileData data: Data, file: String) throws {
        let settings: FileSettings
        do { settings = try JSONDecoder().decode(FileSettings.self, from: data) } catch {
            throw ServiceError(.invalidConfiguration, "config file \(file) is not valid", underlying: error)
        }
        guard let audit = settings.audit else { return }
        if let v = audit.signing_key_file { signingKeyFile = v.isEmpty ? nil : v }
        if let v = audit.features {
            guard let mode = FeatureVectors(rawValue: v) else {
                throw ServiceError(.invalidConfiguration, "audit.features must be alerts, all or none, got \(v)")
            }
            features = mode
        }
        if let v = audit.feature_sample_rate { featureSampleRate = v }
    }

    mutating func apply(environment: [String: String]) {
        if let v = environment["VIGIL_AUDIT_SIGNING_KEY_FILE"], !v.isEmpty { signingKeyFile = v }
    }

    public func validate() throws {
        guard featureSampleRate.isFinite, (0...1).contains(featureSampleRate) else {
            throw ServiceError(.invalidConfiguration, "audit.feature_sample_rate must be in 0...1, got \(featureSampleRate)")
        }
        _ = try signer()
    }

    /// The signer of `signingKeyFile` (nil without one); a bad key file is a configuration error.
    public func signer() throws -> LinkSigner? {
        guard let signingKeyFile else { return nil }
        do { return try LinkSigner(keyFile: signingKeyFile) } catch let error as AuditError {
            throw ServiceError(.invalidConfiguration, "audit.signing_key_file: \(error.message)")
        }
    }

    /// The rule the decider applies per event.
    public var retention: FeatureRetention { FeatureRetention(mode: features, sampleRate: featureSampleRate) }
}

/// Whether a decided event keeps its feature vector in the audit row.
public struct FeatureRetention: Sendable, Equatable {
    public var mode: AuditConfiguration.FeatureVectors
    /// Events whose coordinate hash falls below this keep their vector (alerts mode).
    let threshold: UInt64

    public init(mode: AuditConfiguration.FeatureVectors = .alerts, sampleRate: Double = 0.01) {
        self.mode = mode
        threshold = sampleRate >= 1 ? .max : UInt64(Swift.max(0, sampleRate) * 0x1p64)
    }

    public func keeps(_ outcome: DecisionOutcome, partition: Int32, offset: Int64) -> Bool {
        switch mode {
        case .all: return true
        case .none: return false
        case .alerts:
            if outcome.raisesAlert { return true }
            return threshold > 0 && StableHash.combine(UInt64(UInt32(bitPattern: partition)), UInt64(bitPattern: offset)) < threshold
        }
    }
}
