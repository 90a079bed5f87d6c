// The only file in Vigil that talks to OpenBLAS. Everything is row-major Float32.
import COpenBLAS

/// Thin wrappers over OpenBLAS single-precision routines.
///
/// All matrices are row-major and contiguous (leading dimension = column count).
/// OpenBLAS is switched to one thread the first time any wrapper is used: Vigil gets its
/// parallelism from the pipeline, and BLAS threads would fight it for the cores.
public enum BLAS {
    /// Runs once (Swift globals initialise lazily and thread-safely).
    @usableFromInline
    static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// Makes sure OpenBLAS runs on the calling thread only. Cheap after the first call.
    @inlinable
    public static func configure() {
        _ = singleThreaded
    }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "SkylakeX"). On
    /// virtual CPUs it may fall back to "Prescott" (SSE3 only, about 3× slower on our
    /// shapes); set OPENBLAS_CORETYPE in the environment before start to override.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// C = alpha * op(A) * op(B) + beta * C, row-major.
    ///
    /// - op(A) is m×k (A is m×k, or k×m when `transposeA`), op(B) is k×n, C is m×n.
    /// - Results match a naive Float32 loop to within about k × 1e-7 relative (summation order differs).
    @inlinable
    public static func gemm(
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

    /// y = alpha * op(A) * x + beta * y, where A is rows×cols row-major; op(A) is A or Aᵀ.
    @inlinable
    public static func gemv(
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
