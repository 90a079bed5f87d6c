// The INT8 rows of `vigil-bench models`: each model frozen as INT8 next to its Float rows,
// the verdict on the INT8 targets, and the kernel choice measured on one layer.
import Foundation
import VigilML

extension ModelsBenchmark {
    func measureCAE(_ snapshot: AnomalySnapshot, name: String, test: (rows: [Float], isAnomaly: [Bool]), n: Int,
                    workspace: ScoringWorkspace) throws -> [String: Any] {
        let total = test.isAnomaly.count
        let ap = RankingMetrics.averagePrecision(scores: try snapshot.score(rows: test.rows, count: total), labels: test.isAnomaly)
        var out = [Float](repeating: 0, count: total)
        let rate = try throughput(total: total) { events, _ in
            try snapshot.score(rows: test.rows, events: events, into: &out, workspace: workspace)
        }
        let latency = try latencies(total: total) { j, _ in
            try snapshot.score(rows: test.rows, events: j..<(j + 1), into: &out, workspace: workspace)
        }
        print(String(format: "cae %@: %@ batched, single p50 %.2f µs p99 %.2f µs, %d B weights, AUPRC %.3f (anomaly rate 0.02)",
                     name, Self.show(rate), latency.p50, latency.p99, snapshot.weightBytes, ap))
        return ["model": "cae", "precision": name, "sparsity": 0.0, "events_per_s": rate.cpu.rounded(), "events_per_wall_s": rate.wall.rounded(),
                "p50_us": latency.p50, "p99_us": latency.p99, "weight_bytes": snapshot.weightBytes, "auprc": ap]
    }

    func measureClassifier(_ snapshot: ClassifierSnapshot, name: String, sparsity: Double, testRows: [Float],
                           test: (rows: [Float], sparse: SparseBatch, labels: [Float]), labels: [Bool], n: Int,
                           workspace: ScoringWorkspace) throws -> [String: Any] {
        let total = labels.count
        let p = try snapshot.score(rows: testRows, sparse: test.sparse, count: total)
        let ap = RankingMetrics.averagePrecision(scores: p, labels: labels)
        var out = [Float](repeating: 0, count: total)
        let rate = try throughput(total: total, sparse: test.sparse) { events, sparse in
            try snapshot.score(rows: testRows, sparse: sparse, events: events, into: &out, workspace: workspace)
        }
        let latency = try latencies(total: total, sparse: test.sparse) { j, sparse in
            try snapshot.score(rows: testRows, sparse: sparse, events: j..<(j + 1), into: &out, workspace: workspace)
        }
        print(String(format: "classifier %2.0f%% sparse %@: %@ batched, single p50 %.2f µs p99 %.2f µs, %d B, AUPRC %.3f",
                     sparsity * 100, name, Self.show(rate), latency.p50, latency.p99, snapshot.weightBytes, ap))
        return ["model": "classifier", "precision": name, "sparsity": (sparsity * 100).rounded() / 100, "events_per_s": rate.cpu.rounded(),
                "events_per_wall_s": rate.wall.rounded(), "p50_us": latency.p50, "p99_us": latency.p99,
                "weight_bytes": snapshot.weightBytes, "auprc": ap]
    }

    /// The INT8 targets against dense Float32 in this run: at least 2× its batched
    /// rate with at least 99% of its average precision, for both models together (the
    /// production 70%-sparse classifier frozen as INT8) and for each model alone.
    func int8Verdict(both: [String: Any], variants: [[String: Any]]) -> (speed: Bool, accuracy: Bool, figures: [String: Any]) {
        func row(_ model: String, _ precision: String, _ sparsity: Double) -> [String: Any]? {
            variants.first { $0["model"] as? String == model && $0["precision"] as? String == precision && $0["sparsity"] as? Double == sparsity }
        }
        func ratios(_ int8: [String: Any]?, _ f32: [String: Any]?) -> (speed: Double, accuracy: Double) {
            guard let int8, let f32, let r8 = int8["events_per_s"] as? Double, let r32 = f32["events_per_s"] as? Double,
                  let a8 = int8["auprc"] as? Double, let a32 = f32["auprc"] as? Double, r32 > 0, a32 > 0 else { return (0, 0) }
            return ((r8 / r32 * 1000).rounded() / 1000, (a8 / a32 * 10000).rounded() / 10000)
        }
        let together = ratios(both["70%-int8"] as? [String: Any], both["dense-f32"] as? [String: Any])
        let cae = ratios(row("cae", "int8", 0), row("cae", "f32", 0))
        let classifier = ratios(row("classifier", "int8", 0.7), row("classifier", "f32", 0))
        let speed = together.speed >= 2, accuracy = together.accuracy >= 0.99
        print(String(format: "int8 targets (%@ kernel) vs dense f32 in this run: both models %.2fx the rate (%@), %.2f%% of the AUPRC (%@); "
                     + "cae alone %.2fx, %.2f%%; 70%%-sparse classifier alone %.2fx, %.2f%% (vs the dense f32 classifier)",
                     Int8Kernel.selected.description, together.speed, speed ? "met" : "NOT met", together.accuracy * 100,
                     accuracy ? "met" : "NOT met", cae.speed, cae.accuracy * 100, classifier.speed, classifier.accuracy * 100))
        return (speed, accuracy, ["both_rate_ratio": together.speed, "both_auprc_ratio": together.accuracy,
                                  "cae_rate_ratio": cae.speed, "cae_auprc_ratio": cae.accuracy,
                                  "classifier_rate_ratio": classifier.speed, "classifier_auprc_ratio": classifier.accuracy])
    }

    /// The classifier's first layer (inputs → 64, ReLU) over `batch` events: Float32 through
    /// OpenBLAS against INT8 through each kernel this CPU runs. Why the INT8 kernels are C.
    func int8LayerKernels(features d: Int) -> [String: Double] {
        guard let layer = LayerKernelRun(inputs: d + 1 + 8 + 8, outputs: 64, batch: batch, seed: 5) else { return [:] }
        let (inputs, outputs) = (layer.inputs, layer.outputs)
        var figures: [String: Double] = [:]
        for path in layer.paths {
            var best = 0.0
            for _ in 0..<3 {
                let begin = Self.cpuNow()
                var events = 0
                while Self.cpuNow() - begin < UInt64(seconds / 3 * 1e9) { layer.forward(path); events += batch }
                best = max(best, Double(events) / (Double(Self.cpuNow() - begin) / 1e9))
            }
            figures[path.rawValue] = best.rounded()
        }
        print("one \(inputs)→\(outputs) ReLU layer, \(batch) events, events per CPU-second: "
              + figures.sorted { $0.key < $1.key }.map { "\($0.key) \(BenchReport.rate($0.value))" }.joined(separator: ", "))
        return figures
    }
}
