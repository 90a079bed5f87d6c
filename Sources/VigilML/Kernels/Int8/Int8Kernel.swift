// Which INT8 kernel this process runs, chosen once from the CPU's features, and the calls
// into CVigilKernels (the only place VigilML reaches the C kernels).
import CVigilKernels
import Foundation

/// The implementation behind INT8 layers.
///
/// AVX-512 VNNI's vpdpbusd multiplies 64 unsigned × signed byte pairs and adds them in fours
/// into 16 Int32 lanes in one instruction: four times the multiply-adds of a Float32 FMA of
/// the same width. Swift cannot emit it (no VNNI in its SIMD types), hence a small C target.
/// Without VNNI, the portable C loops run: same results, bit for bit, much slower.
public enum Int8Kernel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case portable = 0
    case avx512VNNI = 1

    /// Chosen at first use: VNNI when /proc/cpuinfo lists it and the C side's CPUID check
    /// agrees, unless VIGIL_INT8_KERNEL=portable asks for the fallback.
    public static let selected: Int8Kernel = {
        if let forced = getenv("VIGIL_INT8_KERNEL").map({ String(cString: $0) }), forced == "portable" { return .portable }
        return CPUFeatures.current.avx512VNNI && vigil_int8_vnni_supported() != 0 ? .avx512VNNI : .portable
    }()

    /// Whether consecutive INT8 layers hand each other codes (the next layer's requantisation
    /// fused into this one's product) rather than Float32 activations. Both give the same
    /// scores bit for bit; VIGIL_INT8_CHAIN=off turns chaining off, for measuring what it saves.
    public static let chainsLayers: Bool = {
        guard let value = getenv("VIGIL_INT8_CHAIN").map({ String(cString: $0) }) else { return true }
        return value != "off"
    }()

    /// Whether this CPU can run `self`.
    public var isSupported: Bool { self == .portable || vigil_int8_vnni_supported() != 0 }

    public var description: String { self == .portable ? "portable C" : "AVX-512 VNNI" }

    /// Events are padded to whole 16-lane vectors in the packed codes.
    @inlinable
    static func paddedEvents(_ n: Int) -> Int { (n + 15) & ~15 }

    func quantize(_ x: UnsafePointer<Float>, rows: Int, n: Int, groups: Int, inverseScale: UnsafePointer<Float>,
                  zeroPoint: UnsafePointer<Float>, into packed: UnsafeMutablePointer<UInt8>) {
        vigil_int8_quantize(rawValue, x, Int32(rows), Int32(n), Int32(Self.paddedEvents(n)), Int32(groups),
                            inverseScale, zeroPoint, packed)
    }

    func multiplyRequantizing(_ packed: UnsafePointer<UInt8>, groups: Int, n: Int, weights: UnsafePointer<Int8>, outputs: Int,
                              compensation: UnsafePointer<Int32>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>, relu: Bool,
                              nextInverseScale: UnsafePointer<Float>, nextZeroPoint: UnsafePointer<Float>,
                              into nextPacked: UnsafeMutablePointer<UInt8>) {
        vigil_int8_multiply_requantize(rawValue, packed, Int32(groups), Int32(n), Int32(Self.paddedEvents(n)), weights, Int32(outputs),
                                       compensation, scale, bias, relu ? 1 : 0, nextInverseScale, nextZeroPoint, nextPacked)
    }

    func multiply(_ packed: UnsafePointer<UInt8>, groups: Int, n: Int, weights: UnsafePointer<Int8>, outputs: Int,
                  compensation: UnsafePointer<Int32>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                  relu: Bool, into out: UnsafeMutablePointer<Float>) {
        vigil_int8_multiply(rawValue, packed, Int32(groups), Int32(n), Int32(Self.paddedEvents(n)), weights, Int32(outputs),
                            compensation, scale, bias, relu ? 1 : 0, out)
    }
}
