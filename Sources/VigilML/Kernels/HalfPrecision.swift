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
    public static let table: [Float] = (0...0xFFFF).map { Float(Float16(bitPattern: UInt16($0))) }

    /// Narrows with round-to-nearest-even; values beyond ±65504 become ±infinity, which is
    /// how loss scaling detects overflow.
    @inlinable
    public static func narrow(_ values: [Float]) -> [Float16] {
        values.map { Float16($0) }
    }

    /// Widens `count` half values into `output`.
    @inlinable
    public static func widen(_ input: UnsafePointer<Float16>, count: Int, into output: UnsafeMutablePointer<Float>) {
        table.withUnsafeBufferPointer { t in
            input.withMemoryRebound(to: UInt16.self, capacity: count) { bits in
                for i in 0..<count { output[i] = t[Int(bits[i])] }
            }
        }
    }
}
