// Versioned binary snapshot of all streaming state, and what the state costs in memory.
//
// Layout (little-endian): "VGFS" | format version u16 | spec hash u64 | sweep day u32 |
// standardiser (count u32, then f64 triples) | cards | merchants | terminals | recent-event
// index | FNV-1a checksum u64 of everything before it.

/// Memory held by the streaming state.
public struct FeatureStateMemory: Sendable {
    public var cards: Int
    public var merchants: Int
    public var terminals: Int
    public var cardBytes: Int
    public var merchantBytes: Int
    public var terminalBytes: Int
    public var recentEventBytes: Int
    public var evictedCards: Int

    /// Bytes of the card table per card held (slots included, so load factor counts).
    public var bytesPerCard: Double { cards == 0 ? 0 : Double(cardBytes) / Double(cards) }
    public var totalBytes: Int { cardBytes + merchantBytes + terminalBytes + recentEventBytes }
}

extension FeatureExtractor {
    static let snapshotMagic: [UInt8] = Array("VGFS".utf8)
    /// Bump when the layout changes; restore refuses other versions.
    public static let snapshotVersion: UInt16 = 1

    public var memory: FeatureStateMemory {
        FeatureStateMemory(
            cards: cards.count, merchants: merchants.count, terminals: terminals.count,
            cardBytes: cards.memoryBytes, merchantBytes: merchants.memoryBytes, terminalBytes: terminals.memoryBytes,
            recentEventBytes: recent.memoryBytes, evictedCards: cards.evicted)
    }

    /// The whole state as bytes. Restoring them into an extractor with the same spec and
    /// configuration gives bit-identical features for every later event.
    public func snapshot() -> [UInt8] {
        var w = SnapshotWriter()
        w.write(bytes: Self.snapshotMagic)
        w.write(Self.snapshotVersion)
        w.write(spec.specHash)
        w.write(sweptDay)
        w.write(UInt32(standardizer.count))
        for v in standardizer { w.write(v) }
        cards.write(to: &w)
        merchants.write(to: &w)
        terminals.write(to: &w)
        recent.write(to: &w)
        w.write(StableHash.hash(w.bytes))
        return w.bytes
    }

    /// Replaces the state with a snapshot's. On error the state is left unchanged.
    public mutating func restore(from bytes: [UInt8]) throws(FeaturesError) {
        guard bytes.count >= 8 + 4 + 2 else { throw FeaturesError(.invalidSnapshot, "too short to be a snapshot") }
        let body = bytes[0..<(bytes.count - 8)]
        var tail = SnapshotReader(Array(bytes[(bytes.count - 8)...]))
        guard try tail.read(UInt64.self) == StableHash.hash(body) else {
            throw FeaturesError(.invalidSnapshot, "checksum mismatch: the snapshot is corrupt")
        }
        var r = SnapshotReader(Array(body))
        guard try r.readBytes(4) == Self.snapshotMagic else { throw FeaturesError(.invalidSnapshot, "not a Vigil feature-state snapshot") }
        let version: UInt16 = try r.read()
        guard version == Self.snapshotVersion else {
            throw FeaturesError(.invalidSnapshot, "snapshot format version \(version), this build reads \(Self.snapshotVersion)")
        }
        let hash: UInt64 = try r.read()
        guard hash == spec.specHash else {
            throw FeaturesError(.invalidSnapshot, "snapshot was taken with another feature spec")
        }
        var copy = self
        copy.sweptDay = try r.read()
        let stats = Int(try r.read(UInt32.self))
        guard stats == standardizer.count else { throw FeaturesError(.invalidSnapshot, "standardiser size mismatch") }
        for i in 0..<stats { copy.standardizer[i] = try r.readDouble() }
        try copy.cards.read(from: &r)
        try copy.merchants.read(from: &r)
        try copy.terminals.read(from: &r)
        try copy.recent.read(from: &r)
        guard r.remaining == 0 else { throw FeaturesError(.invalidSnapshot, "\(r.remaining) unexpected trailing bytes") }
        self = copy
    }
}
