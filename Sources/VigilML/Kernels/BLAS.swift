// The only file in Vigil that talks to OpenBLAS. Everything is row-major Float32.
import COpenBLAS
import Foundation

/// Thin wrappers over OpenBLAS single-precision routines.
///
/// All matrices are row-major and contiguous (leading dimension = column count).
/// OpenBLAS is configured the first time any wrapper is used (`configure`): its kernels
/// are checked against the CPU, and it is switched to one thread, since Vigil gets its
/// parallelism from the pipeline and BLAS threads would fight it for the cores.
public enum BLAS {
    /// How OpenBLAS's kernels were chosen for this process.
    public struct KernelSelection: Sendable, Equatable {
        /// The kernel family in use (OpenBLAS's core name: "SkylakeX", "Haswell", "Prescott", ...).
        public var core: String
        /// What OpenBLAS picked by itself (or from OPENBLAS_CORETYPE).
        public var detected: String
        /// Why Vigil chose other kernels; nil when it kept OpenBLAS's choice.
        public var correction: String?
    }

    /// Runs once (Swift globals initialise lazily and thread-safely).
    @usableFromInline
    static let selection: KernelSelection = {
        let detected = currentCoreName()
        var selection = KernelSelection(core: detected, detected: detected, correction: nil)
        if getenv("OPENBLAS_CORETYPE") == nil, detected == "Prescott",
           let better = CPUFeatures.current.openBLASCore, reinitialize(core: better) {
            selection.core = currentCoreName()
            selection.correction = "OpenBLAS \(version) fell back to its SSE3 kernels (Prescott) on a CPU it does not recognise; "
                + "the CPU has \(CPUFeatures.current.summary), so Vigil selected \(selection.core)"
        }
        openblas_set_num_threads(1)
        return selection
    }()

    /// Makes sure OpenBLAS runs on the calling thread only, with kernels that fit the CPU.
    /// Cheap after the first call. Call it from `main` before other threads start: a
    /// kernel correction sets OPENBLAS_CORETYPE in the environment, and `setenv` is not
    /// safe while other threads read the environment.
    @inlinable
    public static func configure() {
        _ = selection
    }

    /// How the kernels were chosen (configures OpenBLAS first).
    public static var kernelSelection: KernelSelection {
        configure()
        return selection
    }

    /// The kernel family in use (e.g. "Haswell", "SkylakeX"). It decides speed and the
    /// rounding of every product. OpenBLAS 0.3.21 does not recognise some newer CPUs and
    /// falls back to "Prescott" (SSE3 only, 5-7x slower on our shapes); `configure` then
    /// selects the AVX2 or AVX-512 kernels the CPU has, unless OPENBLAS_CORETYPE is set.
    public static var coreName: String { kernelSelection.core }

    private static func currentCoreName() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    private static var version: String {
        guard let config = openblas_get_config() else { return "" }
        return String(cString: config).split(separator: " ").dropFirst().first.map(String.init) ?? ""
    }

    /// Switches a DYNAMIC_ARCH OpenBLAS (Debian's) to `core` before any BLAS call: its
    /// exported `gotoblas_dynamic_quit` / `gotoblas_dynamic_init` re-read OPENBLAS_CORETYPE,
    /// exactly as its load-time constructor does. False (nothing changed) when the library
    /// has no such entry points or did not take the core.
    private static func reinitialize(core: String) -> Bool {
        guard let process = dlopen(nil, RTLD_NOW) else { return false }
        defer { dlclose(process) }
        guard let quit = dlsym(process, "gotoblas_dynamic_quit"), let start = dlsym(process, "gotoblas_dynamic_init") else { return false }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(start, to: Hook.self)()
        return currentCoreName().lowercased() == core.lowercased()
    }

    /// C = alpha * op(A) * op(B) + beta * C, row-major.
    ///
    /// - op(A) is m×k (A is m×k, or k×m when `transposeA`), op(B) is k×n, C is m×n.
    /// - Results match a naive Float32 loop to within about k × 1e-7 relative (summation order differs).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        beta: Float = 0, c: UnsafeMutablePointer<Float>
    ) {
        configure()
        guard m > 0, n > 0 else { return }
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(max(lda, 1)), b, Int32(max(ldb, 1)),
            beta, c, Int32(n))
    }

    /// `gemm` on arrays, for callers outside VigilML: the arrays must hold op(A), op(B) and C.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: [Float], b: [Float], beta: Float = 0, c: inout [Float]
    ) {
        precondition(k > 0 && a.count >= m * k && b.count >= k * n && c.count >= m * n, "gemm: an array is smaller than its matrix")
        guard m > 0, n > 0 else { return }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                         a: a.baseAddress!, b: b.baseAddress!, beta: beta, c: c.baseAddress!)
                }
            }
        }
    }

    /// y = alpha * op(A) * x + beta * y, where A is rows×cols row-major; op(A) is A or Aᵀ.
    static func gemv(
        transpose: Bool, rows: Int, cols: Int, alpha: Float = 1, a: UnsafePointer<Float>,
        x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>
    ) {
        configure()
        guard rows > 0, cols > 0 else { return }
        cblas_sgemv(
            CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols), alpha, a,
            Int32(cols), x, 1, beta, y, 1)
    }
}
