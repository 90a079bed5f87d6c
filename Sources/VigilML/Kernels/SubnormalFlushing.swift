// Subnormal Float32 values flushed to zero for the duration of numeric work.
#if canImport(Glibc)
import Glibc
#endif

/// Runs numeric work with subnormal (denormal) floats treated as zero, then restores the
/// thread's floating-point environment.
///
/// Why: training produces tiny values as a matter of course (Adam's second moments of
/// near-zero gradients decay through 1e-38 and stay there, focal-loss gradients of easy
/// examples, pruned weights' gradients). Every arithmetic operation on a subnormal takes a
/// microcode assist on x86, about a hundred cycles: measured on this machine, one Adam update
/// over 4,864 weights took 147 µs with subnormal gradients and 6.5 µs flushed. Flushing
/// changes results only below 1.2e-38 (Float32's smallest normal), far beneath every tolerance
/// the models use, and it is deterministic: the same input gives the same bits.
///
/// The setting is per thread (x86 MXCSR: FTZ and DAZ); it is saved and restored around `body`,
/// so code that shares the thread afterwards (the cooperative pool, a caller's own maths)
/// sees its own environment again. On other architectures this runs `body` unchanged.
public enum SubnormalFlushing {
    /// MXCSR bits: flush-to-zero (results) and denormals-are-zero (inputs).
    @usableFromInline static let flushBits: UInt32 = 0x8000 | 0x0040

    @inlinable
    public static func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        #if arch(x86_64) && canImport(Glibc)
        var saved = fenv_t()
        fegetenv(&saved)
        guard saved.__mxcsr & flushBits != flushBits else { return try body() }
        var flushed = saved
        flushed.__mxcsr |= flushBits
        fesetenv(&flushed)
        defer { fesetenv(&saved) }
        return try body()
        #else
        return try body()
        #endif
    }

    /// Whether the calling thread currently flushes subnormals (tests).
    public static var isActive: Bool {
        #if arch(x86_64) && canImport(Glibc)
        var env = fenv_t()
        fegetenv(&env)
        return env.__mxcsr & flushBits == flushBits
        #else
        return false
        #endif
    }
}
