// The distilled student of `vigil-bench models`: a [16]-hidden classifier taught by the
// production classifier, next to the models it would replace.
import Foundation
import VigilML

extension ModelsBenchmark {
    /// Trains the student for `trainingSteps` 256-event steps towards half the teacher's
    /// probability plus half the label, Platt-calibrates it on the first 5,000 labelled events,
    /// and freezes it as dense Float32 and as INT8.
    func distilStudent(teacher: ClassifierSnapshot, trainRows: [Float], rule: (rows: [Float], sparse: SparseBatch, labels: [Float]),
                       anomalyInt8: AnomalySnapshot, calibrationCount: Int) throws -> (f32: ClassifierSnapshot, int8: ClassifierSnapshot) {
        let width = teacher.denseWidth, total = rule.labels.count
        let taught = try teacher.score(rows: trainRows, sparse: rule.sparse, count: total)
        let targets = zip(taught, rule.labels).map { 0.5 * $0 + 0.5 * $1 }
        var configuration = SparseClassifier.Configuration(denseWidth: width)
        configuration.hashBuckets = teacher.configuration.hashBuckets
        configuration.bagWidth = teacher.configuration.bagWidth
        configuration.hiddenWidths = [16]
        configuration.sparsity = .dense
        configuration.loss = .weighted(positiveWeight: 1)
        var student = try SparseClassifier(configuration: configuration)
        let begin = Date()
        for step in 0..<trainingSteps {
            let start = (step * 256) % (total - 256)
            try student.train(rows: Array(trainRows[(start * width)..<((start + 256) * width)]), sparse: slice(rule.sparse, start, 256),
                              softTargets: Array(targets[start..<(start + 256)]), count: 256)
        }
        try student.calibrate(rows: Array(trainRows[0..<(5000 * width)]), sparse: slice(rule.sparse, 0, 5000),
                              labels: Array(rule.labels[0..<5000]), count: 5000)
        print(String(format: "student: [16] hidden, %d soft-target steps in %.1f s", trainingSteps, Date().timeIntervalSince(begin)))
        let calibrationRows = try anomalyInt8.withAnomalyInputs(rows: Array(rule.rows[0..<(calibrationCount * (width - 9))]), count: calibrationCount)
        return (student.snapshot(precision: .float32, format: .dense),
                try student.quantizedSnapshot(calibration: calibrationRows, sparse: slice(rule.sparse, 0, calibrationCount), count: calibrationCount))
    }

    /// The student targets against dense Float32 in this run, both models together:
    /// at least 4× the batched rate with at least 97% of the average precision.
    func studentVerdict(both: [String: Any]) -> (speed: Bool, accuracy: Bool, figures: [String: Any]) {
        guard let dense = both["dense-f32"] as? [String: Any], let r32 = dense["events_per_s"] as? Double, let a32 = dense["auprc"] as? Double else {
            return (false, false, [:])
        }
        var figures: [String: Any] = [:]
        var best = (speed: 0.0, accuracy: 0.0)
        for name in ["student-f32", "student-int8"] {
            guard let row = both[name] as? [String: Any], let r = row["events_per_s"] as? Double, let a = row["auprc"] as? Double else { continue }
            let speed = (r / r32 * 1000).rounded() / 1000, accuracy = (a / a32 * 10000).rounded() / 10000
            figures["\(name)_rate_ratio"] = speed
            figures["\(name)_auprc_ratio"] = accuracy
            if accuracy >= 0.97 && speed > best.speed { best = (speed, accuracy) }
        }
        let speed = best.speed >= 4, accuracy = best.accuracy >= 0.97
        let rows = ["student-f32", "student-int8"].compactMap { name -> String? in
            guard let r = figures["\(name)_rate_ratio"] as? Double, let a = figures["\(name)_auprc_ratio"] as? Double else { return nil }
            return String(format: "%@ %.2fx the rate, %.2f%% of the AUPRC", name, r, a * 100)
        }
        print("student targets (≥ 4x the rate with ≥ 97% of the AUPRC) vs dense f32 in this run, both models: " + rows.joined(separator: "; ")
              + ((speed && accuracy) ? " (met)" : " (NOT met)"))
        return (speed, accuracy, figures)
    }
}
