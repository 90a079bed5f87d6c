// The simulator's draws on VigilML's SeededGenerator (xoshiro256** seeded through SplitMix64):
// the same seed gives the same stream on every platform and Swift version, which
// SystemRandomNumberGenerator does not.
import Foundation
import VigilML

extension SeededGenerator {
    /// An independent stream derived from this seed and a label (customer index, day...).
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xd1b5_4a32_d192_ed03) &+ 0x632b_e59b_d9b4_e019)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * unit() }

    /// Uniform integer in 0..<bound (Lemire's multiply-shift; the tiny bias is irrelevant here).
    public mutating func below(_ bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(max(bound, 1))).high)
    }

    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Standard normal (Box–Muller; one value per call keeps the stream simple to reason about).
    public mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
        let u1 = max(unit(), 0x1p-60), u2 = unit()
        return mean + sd * (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Poisson by Knuth's method (fine for the small means of daily transaction counts).
    public mutating func poisson(_ mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 30 { return max(0, Int(normal(mean: mean, sd: mean.squareRoot()).rounded())) }
        let limit = Foundation.exp(-mean)
        var k = 0
        var p = unit()
        while p > limit {
            k += 1
            p *= unit()
        }
        return k
    }

    public mutating func exponential(mean: Double) -> Double { -mean * Foundation.log(max(unit(), 0x1p-60)) }
}
