// Deterministic random numbers: same seed, same model, on every machine.
import Foundation

/// xoshiro256** seeded through SplitMix64. Not cryptographic; fast and reproducible,
/// which `SystemRandomNumberGenerator` is not.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The raw state, for model files (so training resumes the same random stream).
    var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3] }
        set { s = (newValue[0], newValue[1], newValue[2], newValue[3]) }
    }

    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = SeededGenerator.rotl(s.3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of precision.
    public mutating func nextUnit() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller; one value per call keeps the stream simple to reason about).
    public mutating func nextNormal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Two independent standard normals in Float precision (both Box–Muller outputs):
    /// half the transcendental calls of `nextNormal`, for bulk noise such as augmentation.
    public mutating func nextNormalPair() -> (Float, Float) {
        let u1 = max(Float(next() >> 40) * (1.0 / 16_777_216.0), 1e-30)
        let u2 = Float(next() >> 40) * (1.0 / 16_777_216.0)
        let radius = (-2 * log(u1)).squareRoot()
        let angle = 2 * Float.pi * u2
        return (radius * cos(angle), radius * sin(angle))
    }
}
