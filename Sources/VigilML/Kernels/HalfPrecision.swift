// Float16 storage with Float32 arithmetic.
//
// Swift's Float16 converts through a library call on baseline x86_64 (no F16C assumed),
// so the hot loops widen half values through a 65,536-entry table (256 KiB, stays in L2).

/// Which precision a published model stores its weights in. Arithmetic is always Float32.
public enum WeightPrecision: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 0
    case float16 = 1
    public var description: String { self == .float32 ? "f32" : "f16" }
}

/// Widening of half-precision bit patterns to Float32.
public enum HalfPrecision {
    /// `table[Int(h.bitPattern)] == Float(h)` for every Float16 `h` (NaN stays NaN).
    /// Built from the bit layout alone: a lazy global is built on whichever thread first uses
    /// it, and one that runs with subnormals flushed (`SubnormalFlushing`) must not change it.
    public static let table: [Float] = (0...0xFFFF).map { widenedBits(UInt32($0)) }

    /// Float32 with the value of the half-precision bit pattern `h` (NaN payloads kept).
    static func widenedBits(_ h: UInt32) -> Float {
        let sign = (h & 0x8000) << 16, exponent = (h >> 10) & 0x1F
        var mantissa = h & 0x3FF
        switch exponent {
        case 0x1F: return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        case 0 where mantissa == 0: return Float(bitPattern: sign)
        case 0:
            // A half subnormal is a Float32 normal: shift its leading one into the implicit bit.
            var e: UInt32 = 113
            while mantissa & 0x400 == 0 { mantissa <<= 1; e -= 1 }
            return Float(bitPattern: sign | e << 23 | (mantissa & 0x3FF) << 13)
        default: return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
        }
    }

    /// Narrows with round-to-nearest-even; values beyond ±65504 become ±infinity, which is
    /// how loss scaling detects overflow.
    @inlinable
    public static func narrow(_ values: [Float]) -> [Float16] {
        let n = values.count
        return [Float16](unsafeUninitializedCapacity: n) { out, initialized in
            values.withUnsafeBufferPointer { v in
                // Every case computed and selected, no branch: publishing a model narrows its
                // whole embedding table, and the scalar form's unpredictable rounding branch
                // cost 3 ns a value against 1 ns here.
                for i in 0..<n { out[i] = Float16(bitPattern: narrowedBits(v[i].bitPattern)) }
            }
            initialized = n
        }
    }

    /// The bits of `narrow(Float(bitPattern: bits))`, branch-free.
    @inlinable @inline(__always)
    static func narrowedBits(_ bits: UInt32) -> UInt16 {
        let magnitude = bits & 0x7FFF_FFFF
        // Normal halves: rebase the exponent and round the 13 dropped bits to nearest, ties to
        // even, by a carry (0x0FFF plus the kept lowest bit carries exactly when it should).
        let rebased = magnitude &- (112 << 23)
        let normal = (rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)) >> 13
        // Below the smallest normal half: adding 0.5 lets the FPU round to units of 2^-24
        // (nearest, ties to even) in the low mantissa bits. Exact with subnormals flushed too:
        // a Float32 subnormal is far below half a unit.
        let magic: UInt32 = 126 << 23
        let subnormal = (Float(bitPattern: magnitude) + Float(bitPattern: magic)).bitPattern &- magic
        var half = magnitude < 0x3880_0000 ? subnormal : normal
        half = magnitude >= 0x477F_F000 ? 0x7C00 : half  // 65520 and above: infinity
        half = magnitude > 0x7F80_0000 ? 0x7E00 : half  // NaN
        return UInt16(truncatingIfNeeded: half | ((bits >> 16) & 0x8000))
    }

    /// `Float16(x)` (round to nearest, ties to even; beyond the largest half, infinity)
    /// computed on the bit pattern: the conversion is a library call on baseline x86_64 and
    /// ran for every gradient of every training step. NaN gives a quiet NaN of the same sign.
    @inlinable
    public static func narrow(_ x: Float) -> Float16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 { return Float16(bitPattern: sign | 0x7E00) }  // NaN
        // 65520 and above (the midpoint past 65504, which ties to the even infinity).
        if magnitude >= 0x477F_F000 { return Float16(bitPattern: sign | 0x7C00) }
        if magnitude < 0x3880_0000 {
            // Below the smallest normal half: units of 2^-24, scaled exactly and rounded to
            // even (1024 units carry into the smallest normal, as the bit layout does).
            let units = (Float(bitPattern: magnitude) * 16_777_216).rounded(.toNearestOrEven)
            return Float16(bitPattern: sign | UInt16(units))
        }
        let rebased = magnitude &- (112 << 23)  // exponent bias 127 → 15
        var half = rebased >> 13
        let rest = rebased & 0x1FFF
        if rest > 0x1000 || (rest == 0x1000 && half & 1 == 1) { half &+= 1 }
        return Float16(bitPattern: sign | UInt16(truncatingIfNeeded: half))
    }

    /// `Float(h)`, through the table.
    @inlinable
    public static func widen(_ h: Float16) -> Float {
        table.withUnsafeBufferPointer { $0[Int(h.bitPattern)] }
    }

    /// Widens `count` half values into `output`.
    static func widen(_ input: UnsafePointer<Float16>, count: Int, into output: UnsafeMutablePointer<Float>) {
        table.withUnsafeBufferPointer { t in
            input.withMemoryRebound(to: UInt16.self, capacity: count) { bits in
                for i in 0..<count { output[i] = t[Int(bits[i])] }
            }
        }
    }
}
