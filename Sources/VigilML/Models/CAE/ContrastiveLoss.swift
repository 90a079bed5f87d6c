// The contrastive term of the autoencoder: margin loss against dynamically mined hard negatives.
import Foundation

/// Margin loss on cosine similarity between two views of a batch, with in-batch hard
/// negatives mined afresh on every step.
///
/// For anchor i (view A) the positive is column i of view B. Candidates are the other
/// columns of view B, excluding events known to share i's label. The `k` most similar
/// candidates are the hard negatives; each contributes max(0, margin + s(i, j) − s(i, i′)) / k.
/// The loss is the mean over anchors.
struct ContrastiveLoss {
    let margin: Float
    let hardNegatives: Int

    struct Result {
        var loss: Float
        /// d(loss)/d(embeddings), emb×2n feature-major like the input.
        var gradient: [Float]
        /// Active hinge terms, for diagnostics.
        var activePairs: Int
    }

    /// `embeddings` is emb×2n feature-major: columns 0..<n are view A, n..<2n view B.
    /// `labels` (length n, −1 = unknown) restrict negatives to different known labels.
    func evaluate(embeddings z: [Float], width: Int, n: Int, labels: [Int8]?) -> Result {
        let cols = 2 * n
        // Normalise each column; keep batch-major copies for the similarity product.
        var u = [Float](repeating: 0, count: cols * width)  // (2n)×width batch-major
        var norms = [Float](repeating: 0, count: cols)
        for j in 0..<cols {
            var s: Float = 0
            for k in 0..<width { s += z[k * cols + j] * z[k * cols + j] }
            let norm = (s + 1e-12).squareRoot()
            norms[j] = norm
            for k in 0..<width { u[j * width + k] = z[k * cols + j] / norm }
        }
        // S = U_A · U_Bᵀ (n×n): one sgemm for all pairwise similarities.
        var sim = [Float](repeating: 0, count: n * n)
        u.withUnsafeBufferPointer { up in
            sim.withUnsafeMutableBufferPointer { sp in
                BLAS.gemm(transposeA: false, transposeB: true, m: n, n: n, k: width,
                          a: up.baseAddress!, b: up.baseAddress! + n * width, c: sp.baseAddress!)
            }
        }
        var gu = [Float](repeating: 0, count: cols * width)
        var loss: Float = 0
        var active = 0
        // Rule out non-candidates once: the positive itself and same-label pairs get −∞,
        // which never beats the running threshold below.
        let positives = (0..<n).map { sim[$0 * n + $0] }
        for i in 0..<n {
            sim[i * n + i] = -.infinity
            if let labels, labels[i] >= 0 {
                for j in 0..<n where labels[j] == labels[i] { sim[i * n + j] = -.infinity }
            }
        }
        var chosen: [(Float, Int)] = []
        chosen.reserveCapacity(hardNegatives)
        for i in 0..<n {
            chosen.removeAll(keepingCapacity: true)
            // Running top-k: a candidate costs one comparison against the weakest chosen
            // similarity unless it enters the set.
            var threshold = -Float.infinity
            var weakest = 0
            sim.withUnsafeBufferPointer { all in
                let row = all.baseAddress! + i * n
                for j in 0..<n where row[j] > threshold {
                    if chosen.count < hardNegatives {
                        chosen.append((row[j], j))
                        if chosen.count == hardNegatives {
                            weakest = chosen.indices.min { chosen[$0].0 < chosen[$1].0 }!
                            threshold = chosen[weakest].0
                        }
                    } else {
                        chosen[weakest] = (row[j], j)
                        weakest = chosen.indices.min { chosen[$0].0 < chosen[$1].0 }!
                        threshold = chosen[weakest].0
                    }
                }
            }
            guard !chosen.isEmpty else { continue }
            let positive = positives[i]
            let c = 1 / (Float(n) * Float(chosen.count))
            for (s, j) in chosen {
                let hinge = margin + s - positive
                guard hinge > 0 else { continue }
                active += 1
                loss += c * hinge
                // d/du_i = u_j − u_p; d/du_j = u_i; d/du_p = −u_i (u_j, u_p are view-B columns).
                let ui = i * width, uj = (n + j) * width, up = (n + i) * width
                for k in 0..<width {
                    gu[ui + k] += c * (u[uj + k] - u[up + k])
                    gu[uj + k] += c * u[ui + k]
                    gu[up + k] -= c * u[ui + k]
                }
            }
        }
        // Back through the normalisation: dz = (g − u (uᵀg)) / ‖z‖.
        var gz = [Float](repeating: 0, count: width * cols)
        for j in 0..<cols {
            var dot: Float = 0
            for k in 0..<width { dot += u[j * width + k] * gu[j * width + k] }
            for k in 0..<width {
                gz[k * cols + j] = (gu[j * width + k] - u[j * width + k] * dot) / norms[j]
            }
        }
        return Result(loss: loss, gradient: gz, activePairs: active)
    }
}
