// The vector instruction sets of the CPU, as the operating system reports them.
import Foundation

/// What the CPU (and the kernel, which may switch features off) offers for BLAS kernels.
/// Read from /proc/cpuinfo on Linux; elsewhere nothing is reported, so nothing is changed.
struct CPUFeatures: Sendable, Equatable {
    /// AVX-512 foundation plus the BW, DQ and VL extensions OpenBLAS's SkylakeX kernels use.
    var avx512: Bool
    /// AVX2 with FMA3 (OpenBLAS's Haswell kernels).
    var avx2: Bool
    /// AVX-512 F, BW and VL with VNNI (vpdpbusd): the INT8 layers' fast kernel.
    var avx512VNNI: Bool

    static let current = CPUFeatures(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")

    /// Parses the first `flags` line of /proc/cpuinfo.
    init(cpuinfo: String) {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let flags = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        avx2 = flags.contains("avx2") && flags.contains("fma")
        avx512VNNI = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"].allSatisfy(flags.contains)
    }

    /// The best OpenBLAS kernel family these features run, or nil for "leave OpenBLAS's choice".
    var openBLASCore: String? { avx512 ? "SkylakeX" : avx2 ? "Haswell" : nil }

    var summary: String { avx512 ? "AVX-512" : avx2 ? "AVX2 and FMA" : "neither AVX2 nor AVX-512" }
}
