// Stable 64-bit hashing for entity keys, hashed categorical buckets and the spec hash.
// Swift's Hasher is seeded per process, so it can never be used for anything that is
// stored or compared across runs; FNV-1a with a final avalanche mix is stable forever.

/// FNV-1a over bytes followed by a SplitMix64 finaliser (FNV alone mixes the last bytes poorly,
/// which matters when values are reduced modulo a bucket count).
public enum StableHash {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// Feeds one byte into a running FNV-1a state.
    @inlinable @inline(__always)
    public static func step(_ state: UInt64, _ byte: UInt8) -> UInt64 {
        (state ^ UInt64(byte)) &* prime
    }

    /// The avalanche finaliser applied to a finished FNV state.
    @inlinable @inline(__always)
    public static func finalize(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Hash of a byte sequence, starting from an optional seed (used to separate fields).
    @inlinable
    public static func hash<Bytes: Sequence>(_ bytes: Bytes, seed: UInt64 = offsetBasis) -> UInt64 where Bytes.Element == UInt8 {
        var state = seed
        for byte in bytes { state = step(state, byte) }
        return finalize(state)
    }

    /// Hash of a string's UTF-8 bytes.
    @inlinable
    public static func hash(_ string: String, seed: UInt64 = offsetBasis) -> UInt64 {
        // Native strings (small ones included) expose contiguous UTF-8: a plain byte loop.
        if let h = string.utf8.withContiguousStorageIfAvailable({ buffer -> UInt64 in
            var state = seed
            for byte in buffer { state = step(state, byte) }
            return finalize(state)
        }) {
            return h
        }
        return hash(string.utf8, seed: seed)
    }

    /// Combines two hashes into one (order matters), for hashed crosses and salted buckets.
    @inlinable @inline(__always)
    public static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        finalize(a ^ (b &+ 0x9e37_79b9_7f4a_7c15 &+ (a << 6) &+ (a >> 2)))
    }
}
