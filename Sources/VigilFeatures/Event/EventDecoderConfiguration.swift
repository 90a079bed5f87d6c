// Limits the decoder enforces before any event reaches feature extraction.

/// Limits on incoming payloads. Anything beyond them is rejected with a precise reason.
public struct EventDecoderConfiguration: Sendable, Equatable {
    /// Largest accepted payload. Default: 65,536 bytes (a typical event is about 200).
    public var maxPayloadBytes: Int
    /// Deepest accepted nesting of objects and arrays, the top-level object being level 1.
    /// Default: 16 (the contract needs 2; unknown fields may nest a little).
    public var maxDepth: Int
    /// Most keys accepted under `features`. Default: 256.
    public var maxExtraFeatures: Int
    /// Longest accepted Kafka message key (by contract the card id). Default: 1,024 bytes.
    public var maxKeyBytes: Int

    public init(maxPayloadBytes: Int = 65_536, maxDepth: Int = 16, maxExtraFeatures: Int = 256, maxKeyBytes: Int = 1_024) {
        self.maxPayloadBytes = maxPayloadBytes
        self.maxDepth = maxDepth
        self.maxExtraFeatures = maxExtraFeatures
        self.maxKeyBytes = maxKeyBytes
    }
}
