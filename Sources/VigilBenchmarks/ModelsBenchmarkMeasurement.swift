// Measurement loops of `vigil-bench models`: throughput, latency percentiles, step time,
// and the plain-sgemm yardstick.
import Foundation
import VigilML

extension ModelsBenchmark {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// CPU time consumed by the calling thread. Rates per CPU-second measure "on one core"
    /// even while other processes share the machine (time spent descheduled is excluded;
    /// cache and memory-bandwidth interference is not).
    static func cpuNow() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Events per CPU-second and per wall-clock second.
    struct Rate {
        var cpu: Double
        var wall: Double
        static func best(_ a: Rate, _ b: Rate) -> Rate { Rate(cpu: max(a.cpu, b.cpu), wall: max(a.wall, b.wall)) }
    }

    /// Events per second scoring `batch`-event ranges of the test rows (cycled) for `seconds`;
    /// `body` scores the events of a range. The ranges' sparse batches are prepared before the
    /// clock starts.
    func throughput(total: Int, sparse: SparseBatch? = nil, body: (Range<Int>, SparseBatch?) throws -> Void) throws -> Rate {
        let n = min(batch, total)
        let starts = Array(stride(from: 0, through: total - n, by: n))
        let sparseSlices = starts.map { start in sparse.map { slice($0, start, n) } }
        for (i, start) in starts.prefix(3).enumerated() {
            try body(start..<(start + n), sparseSlices[i])
        }
        // Best of three windows: on a shared machine the best window is the one least
        // disturbed by other processes, so it measures the code rather than the neighbours.
        var best = Rate(cpu: 0, wall: 0)
        for _ in 0..<3 {
            var events = 0
            let cpuBegin = Self.cpuNow()
            let begin = Self.now()
            var elapsed: UInt64 = 0
            var i = 0
            while elapsed < UInt64(seconds * 1e9) {
                let start = starts[i % starts.count]
                try body(start..<(start + n), sparseSlices[i % starts.count])
                events += n
                i += 1
                elapsed = Self.now() - begin
            }
            let cpu = Self.cpuNow() - cpuBegin
            best = Rate.best(best, Rate(cpu: Double(events) / (Double(cpu) / 1e9), wall: Double(events) / (Double(elapsed) / 1e9)))
        }
        return best
    }

    /// p50 and p99 in microseconds of scoring one event at a time (`body` scores one event).
    func latencies(total: Int, sparse: SparseBatch? = nil, body: (Int, SparseBatch?) throws -> Void) throws -> (p50: Double, p99: Double) {
        let distinct = min(2000, total)
        let singles = (0..<distinct).map { j in sparse.map { slice($0, j, 1) } }
        var samples = [UInt64](repeating: 0, count: latencySamples)
        for j in 0..<min(1000, distinct) {
            try body(j, singles[j])
        }
        for s in 0..<latencySamples {
            let j = s % distinct
            let begin = Self.now()
            try body(j, singles[j])
            samples[s] = Self.now() - begin
        }
        samples.sort()
        func percentile(_ p: Double) -> Double {
            (Double(samples[min(samples.count - 1, Int(Double(samples.count) * p))]) / 1e3 * 100).rounded() / 100
        }
        return (percentile(0.5), percentile(0.99))
    }


    /// Median thread-CPU seconds of one training step (100 timed steps after 5 warm-up steps).
    func timeTrainingStep(_ step: () throws -> Void) throws -> Double {
        for _ in 0..<5 { try step() }
        var times: [UInt64] = []
        for _ in 0..<100 {
            let begin = Self.cpuNow()
            try step()
            times.append(Self.cpuNow() - begin)
        }
        return Double(times.sorted()[50]) / 1e9
    }
}

/// Events `start..<start+count` of a sparse batch.
func slice(_ sparse: SparseBatch, _ start: Int, _ count: Int) -> SparseBatch {
    let lo = Int(sparse.offsets[start]), hi = Int(sparse.offsets[start + count])
    return SparseBatch(offsets: sparse.offsets[start...(start + count)].map { $0 - Int32(lo) },
                       indices: Array(sparse.indices[lo..<hi]))
}

/// The yardstick: the dense layers' matrix products alone (no bias, activation, validation
/// or layout work), feature-major, one sgemm per layer, the same shapes and batch.
struct SgemmBaseline {
    let layers: [(inputs: Int, outputs: Int)]
    let batch: Int

    init(widths: [[Int]], batch: Int) {
        layers = widths.flatMap { w in (0..<(w.count - 1)).map { (w[$0], w[$0 + 1]) } }
        self.batch = batch
    }

    var flopsPerEvent: Int { layers.reduce(0) { $0 + 2 * $1.inputs * $1.outputs } }

    /// Median seconds of the matrix products of one training step on `rows` events:
    /// per layer the forward product, the weight gradient and the input gradient.
    func trainingStepSeconds(rows: Int) -> Double {
        let widest = layers.map { max($0.inputs, $0.outputs) }.max()!
        let weights = layers.map { [Float](repeating: 1 / Float($0.inputs), count: $0.inputs * $0.outputs) }
        var gradient = [Float](repeating: 0, count: layers.map { $0.inputs * $0.outputs }.max()!)
        let input = [Float](repeating: 0.5, count: widest * rows)
        var output = [Float](repeating: 0.5, count: widest * rows)
        var times: [UInt64] = []
        for _ in 0..<105 {
            let begin = ModelsBenchmark.cpuNow()
            for (i, layer) in layers.enumerated() {
                BLAS.gemm(transposeA: false, transposeB: false, m: layer.outputs, n: rows, k: layer.inputs, a: weights[i], b: input, c: &output)
                BLAS.gemm(transposeA: false, transposeB: true, m: layer.outputs, n: layer.inputs, k: rows, a: input, b: input, c: &gradient)
                BLAS.gemm(transposeA: true, transposeB: false, m: layer.inputs, n: rows, k: layer.outputs, a: weights[i], b: input, c: &output)
            }
            times.append(ModelsBenchmark.cpuNow() - begin)
        }
        return Double(times.dropFirst(5).sorted()[50]) / 1e9
    }

    /// Best of three windows, like the model measurements.
    func eventsPerSecond(seconds: Double) -> ModelsBenchmark.Rate {
        (0..<3).map { _ in window(seconds: seconds) }.reduce(ModelsBenchmark.Rate(cpu: 0, wall: 0), ModelsBenchmark.Rate.best)
    }

    private func window(seconds: Double) -> ModelsBenchmark.Rate {
        // Weights 1/inputs keep activations near 0.5 (no denormal slow paths).
        let weights = layers.map { [Float](repeating: 1 / Float($0.inputs), count: $0.inputs * $0.outputs) }
        let widest = layers.map { max($0.inputs, $0.outputs) }.max()!
        var a = [Float](repeating: 0.5, count: widest * batch)
        var b = [Float](repeating: 0.5, count: widest * batch)
        var events = 0
        let cpuBegin = ModelsBenchmark.cpuNow()
        let begin = ModelsBenchmark.now()
        var elapsed: UInt64 = 0
        while elapsed < UInt64(seconds * 1e9) {
            for (i, layer) in layers.enumerated() {
                if i % 2 == 0 {
                    BLAS.gemm(transposeA: false, transposeB: false, m: layer.outputs, n: batch, k: layer.inputs, a: weights[i], b: a, c: &b)
                } else {
                    BLAS.gemm(transposeA: false, transposeB: false, m: layer.outputs, n: batch, k: layer.inputs, a: weights[i], b: b, c: &a)
                }
            }
            events += batch
            elapsed = ModelsBenchmark.now() - begin
        }
        let cpu = ModelsBenchmark.cpuNow() - cpuBegin
        return ModelsBenchmark.Rate(cpu: Double(events) / (Double(cpu) / 1e9), wall: Double(events) / (Double(elapsed) / 1e9))
    }
}
