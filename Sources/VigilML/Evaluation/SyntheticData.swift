// Generated tasks with planted structure, for tests and benchmarks (never for production).

/// Seeded generators of data whose right answer is known.
public enum SyntheticData {
    /// Normal events on a 3-dimensional linear manifold with noise, plus a planted tight
    /// cluster off the manifold (`anomalyRate` of the rows). Features have unit scale,
    /// so anomalies are not simply larger values. Rows are batch-major count × width.
    public static func anomalyMixture(count: Int, width: Int, anomalyRate: Double, seed: UInt64) -> (rows: [Float], isAnomaly: [Bool]) {
        var g = SeededGenerator(seed: 0xA11CE)  // the manifold and the cluster are fixed…
        let basis = (0..<(width * 3)).map { _ in g.nextNormal() / Float(3).squareRoot() }
        let center = (0..<width).map { _ in g.nextNormal() * 0.8 }
        var r = SeededGenerator(seed: seed)  // …the sample depends on the seed
        var rows = [Float](repeating: 0, count: count * width)
        var labels = [Bool](repeating: false, count: count)
        for j in 0..<count {
            if Double(r.nextUnit()) < anomalyRate {
                labels[j] = true
                for f in 0..<width { rows[j * width + f] = center[f] + 0.1 * r.nextNormal() }
            } else {
                let z = (r.nextNormal(), r.nextNormal(), r.nextNormal())
                for f in 0..<width {
                    rows[j * width + f] = basis[f * 3] * z.0 + basis[f * 3 + 1] * z.1 + basis[f * 3 + 2] * z.2 + 0.05 * r.nextNormal()
                }
            }
        }
        return (rows, labels)
    }

    /// A non-linear fraud rule: fraud when x0 · x1 > `threshold` (an XOR-like pattern no
    /// linear model separates), or when a risky bucket (index < `riskyBuckets`) is among
    /// the event's sparse inputs. Other features are noise. Each event has 1–3 sparse
    /// indices drawn from `buckets` (none if buckets is 0).
    public static func fraudRule(count: Int, width: Int, buckets: Int, riskyBuckets: Int = 0, threshold: Float = 0,
                                 seed: UInt64) -> (rows: [Float], sparse: SparseBatch, labels: [Float]) {
        var r = SeededGenerator(seed: seed)
        var rows = [Float](repeating: 0, count: count * width)
        var labels = [Float](repeating: 0, count: count)
        var lists: [[Int32]] = []
        lists.reserveCapacity(count)
        for j in 0..<count {
            for f in 0..<width { rows[j * width + f] = r.nextNormal() }
            var list: [Int32] = []
            if buckets > 0 {
                for _ in 0..<(1 + Int(r.next() % 3)) { list.append(Int32(r.next() % UInt64(buckets))) }
            }
            let risky = list.contains { Int($0) < riskyBuckets }
            labels[j] = (rows[j * width] * rows[j * width + 1] > threshold || risky) ? 1 : 0
            lists.append(list)
        }
        return (rows, SparseBatch(lists: lists), labels)
    }
}
