// Which partition of the transactions topic a card's events go to, computed the way the
// producers' partitioner does it from the Kafka key (the card id): the feature state of a card
// lives with that partition, so an API request for the card is scored with that partition's
// state, by the member that owns it.

/// The producers' key-to-partition function.
public struct CardPartitioner: Sendable {
    public let kind: ScoringConfiguration.Partitioner

    public init(_ kind: ScoringConfiguration.Partitioner) {
        self.kind = kind
    }

    /// The partition of `key` among `count` partitions.
    public func partition(of key: some Sequence<UInt8>, count: Int) -> Int32 {
        let n = UInt32(max(1, count))
        switch kind {
        case .consistent:
            return Int32(Self.crc32(key) % n)
        case .murmur2:
            // Java's `toPositive(murmur2(key)) % n`.
            return Int32((Self.murmur2(Array(key)) & 0x7fff_ffff) % n)
        }
    }

    /// CRC-32 (IEEE 802.3, reflected, as zlib and librdkafka's `rd_crc32`).
    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8)
        }
        return crc ^ 0xffff_ffff
    }

    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Kafka's murmur2 (seed 0x9747b28c), as the Java client and librdkafka's `murmur2` partitioner.
    static func murmur2(_ data: [UInt8]) -> UInt32 {
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: data.count)
        let whole = data.count / 4
        for i in 0..<whole {
            let j = i * 4
            var k = UInt32(data[j]) | UInt32(data[j + 1]) << 8 | UInt32(data[j + 2]) << 16 | UInt32(data[j + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        let tail = whole * 4
        switch data.count % 4 {
        case 3:
            h ^= UInt32(data[tail + 2]) << 16
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 2:
            h ^= UInt32(data[tail + 1]) << 8
            h ^= UInt32(data[tail])
            h = h &* m
        case 1:
            h ^= UInt32(data[tail])
            h = h &* m
        default:
            break
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return h
    }
}
