// `vigil models compress`: a new version made from a stored one for cheaper scoring, measured
// against it on recent traffic it was not calibrated on.
import Foundation
import VigilML

/// Recent traffic as the scorer sees it, in stream order: dense feature rows, hashed sparse
/// indices (a fixed number per event) and ground truth where known.
public struct CompressionData: Sendable {
    public var featureWidth: Int
    /// count × featureWidth, batch-major.
    public var features: [Float] = []
    public var sparseWidth: Int
    /// count × sparseWidth, batch-major.
    public var sparse: [UInt32] = []
    /// Per event: fraud, legit, or nil when not known.
    public var truth: [Bool?] = []

    public init(featureWidth: Int, sparseWidth: Int) {
        self.featureWidth = featureWidth
        self.sparseWidth = sparseWidth
    }

    public var count: Int { truth.count }

    /// Appends a batch of events.
    public mutating func append(features rows: ArraySlice<Float>, sparse indices: ArraySlice<UInt32>, truth t: [Bool?]) {
        features += rows
        sparse += indices
        truth += t
    }

    func rows(_ range: Range<Int>) -> [Float] { Array(features[(range.lowerBound * featureWidth)..<(range.upperBound * featureWidth)]) }

    func sparseBatch(_ range: Range<Int>) -> SparseBatch {
        let s = sparseWidth
        return SparseBatch(offsets: (0...range.count).map { Int32($0 * s) },
                           indices: sparse[(range.lowerBound * s)..<(range.upperBound * s)].map { Int32(bitPattern: $0) })
    }
}

public enum ModelCompression {
    /// The INT8 form of `parent` as version `version`: the same Float32 master weights (so it
    /// keeps learning like its parent), frozen as INT8 with activation codes calibrated on the
    /// `calibrationEvents` events just before the last `holdBack` share of `data`; that
    /// held-back tail is scored by both sets for `CompressionMetrics`, and judged by the
    /// promotion guard against the parent there (`judge`: throws `.guardRejected` unless
    /// `guardSettings.override`). The top-level guard metrics stay the parent's (the models
    /// learnt nothing new).
    public static func int8(_ parent: ModelSet, data: CompressionData, calibrationEvents: Int = 2048, holdBack: Double = 0.25,
                            guardSettings: CompressionGuardSettings = CompressionGuardSettings(),
                            version: Int64, createdAtMillis: Int64) throws -> ModelSet {
        guard calibrationEvents > 0 else { throw EngineError(.invalidConfiguration, "need calibration events > 0") }
        let (split, usesSparse) = try check(parent, data: data, holdBack: holdBack)
        let calibration = max(0, split - calibrationEvents)..<split
        var architecture = parent.architecture
        architecture.int8Calibration = try CalibrationEvents(features: data.rows(calibration), featureWidth: data.featureWidth,
                                                             sparse: usesSparse ? data.sparseBatch(calibration) : nil)
        let scorer: Scorer
        do {
            scorer = try ModelSet.freeze(autoencoder: parent.autoencoder, classifier: parent.classifier, architecture: architecture)
        } catch {
            throw EngineError.wrapping(error, "cannot freeze version \(parent.version) as INT8")
        }
        let evaluation = split..<data.count
        var metrics = parent.metrics
        metrics.compression = try compare(scorer, with: parent.scorer, data: data, range: evaluation, usesSparse: usesSparse,
                                          parentVersion: parent.version, calibrationEvents: calibration.count)
        metrics.compression!.verdict = try judge(scorer, classifierIsTrained: parent.classifierIsTrained, against: parent, data: data,
                                                 range: evaluation, usesSparse: usesSparse, settings: guardSettings)
        return try ModelSet(version: version, parent: parent.version, createdAtMillis: createdAtMillis,
                            featureSpecHash: parent.featureSpecHash, architecture: architecture,
                            autoencoder: parent.autoencoder, classifier: parent.classifier, metrics: metrics, frozen: scorer)
    }

    /// Where the held-back tail starts, and whether the parent takes sparse inputs; throws
    /// when the data does not fit the parent.
    static func check(_ parent: ModelSet, data: CompressionData, holdBack: Double) throws -> (split: Int, usesSparse: Bool) {
        guard data.featureWidth == parent.featureWidth else {
            throw EngineError(.invalidConfiguration, "the data has \(data.featureWidth) features per event, version \(parent.version) takes \(parent.featureWidth)")
        }
        guard holdBack > 0, holdBack < 1 else { throw EngineError(.invalidConfiguration, "need a held-back share in (0, 1)") }
        let heldBack = Int((Double(data.count) * holdBack).rounded())
        let split = data.count - heldBack
        guard heldBack >= 1, split >= 1 else {
            throw EngineError(.notEnoughData, "\(data.count) events are too few to learn from and hold some back")
        }
        let buckets = parent.classifier.configuration.hashBuckets
        let usesSparse = buckets > 0
        if usesSparse {
            guard data.sparseWidth > 0 else { throw EngineError(.invalidConfiguration, "version \(parent.version) needs sparse inputs; the data has none") }
            if let bad = data.sparse.first(where: { Int($0) >= buckets }) {
                throw EngineError(.invalidConfiguration, "sparse index \(bad) is outside version \(parent.version)'s \(buckets) buckets (another feature spec?)")
            }
        }
        return (split, usesSparse)
    }

    static func compare(_ child: Scorer, with parent: Scorer, data: CompressionData, range: Range<Int>, usesSparse: Bool,
                        parentVersion: Int64, calibrationEvents: Int, method: String = "int8") throws -> CompressionMetrics {
        let rows = data.rows(range)
        let sparse = usesSparse ? data.sparseBatch(range) : nil
        let n = range.count
        let mine = try score(child, rows: rows, sparse: sparse, count: n)
        let theirs = try score(parent, rows: rows, sparse: sparse, count: n)
        var agree = 0, maxP = 0.0, sumP = 0.0, maxA = 0.0
        for j in 0..<n {
            let a = mine[j], b = theirs[j]
            if (a.fraudProbability >= 0.5) == (b.fraudProbability >= 0.5) { agree += 1 }
            let dp = Double(abs(a.fraudProbability - b.fraudProbability))
            maxP = max(maxP, dp)
            sumP += dp
            maxA = max(maxA, Double(abs(a.anomaly - b.anomaly)))
        }
        let known = (0..<n).filter { data.truth[range.lowerBound + $0] != nil }
        let labels = known.map { data.truth[range.lowerBound + $0]! }
        func figures(_ scores: [Score]) -> (ap: Double?, logLoss: Double?) {
            let p = known.map { scores[$0].fraudProbability }
            guard !p.isEmpty else { return (nil, nil) }
            let ap = labels.contains(true) && labels.contains(false) ? RankingMetrics.averagePrecision(scores: p, labels: labels) : nil
            var loss = 0.0
            for (q, y) in zip(p, labels) {
                let c = min(max(Double(q), 1e-7), 1 - 1e-7)
                loss -= y ? log(c) : log(1 - c)
            }
            return (ap, loss / Double(p.count))
        }
        let (ap, loss) = figures(mine), (parentAP, parentLoss) = figures(theirs)
        return CompressionMetrics(
            method: method, parentVersion: parentVersion, calibrationEvents: calibrationEvents, heldBackEvents: n,
            heldBackLabels: known.count, heldBackFrauds: labels.filter { $0 }.count,
            agreement: Double(agree) / Double(n), maxProbabilityDifference: maxP, meanProbabilityDifference: sumP / Double(n),
            maxAnomalyDifference: maxA, averagePrecision: ap, parentAveragePrecision: parentAP, logLoss: loss, parentLogLoss: parentLoss,
            weightBytes: child.weightBytes, parentWeightBytes: parent.weightBytes,
            eventsPerSecond: try rate(child, rows: rows, sparse: sparse, count: n),
            parentEventsPerSecond: try rate(parent, rows: rows, sparse: sparse, count: n))
    }

    static let batch = 1024

    /// Scores in batches as serve does.
    static func score(_ scorer: Scorer, rows: [Float], sparse: SparseBatch?, count n: Int) throws -> [Score] {
        var out = [Score](repeating: Score(), count: n)
        let workspace = ScoringWorkspace()
        for start in stride(from: 0, to: n, by: batch) {
            let end = min(start + batch, n)
            try scorer.score(batch: rows, sparse: sparse.map { slice($0, start..<end) }, events: start..<end, into: &out, workspace: workspace)
        }
        return out
    }

    /// Events per second scoring the held-back events in batches: best of three passes of at
    /// least 0.1 s each.
    static func rate(_ scorer: Scorer, rows: [Float], sparse: SparseBatch?, count n: Int) throws -> Double {
        let clock = ContinuousClock()
        var best = 0.0
        for _ in 0..<3 {
            var events = 0
            let start = clock.now
            repeat {
                _ = try score(scorer, rows: rows, sparse: sparse, count: n)
                events += n
            } while clock.now - start < .milliseconds(100)
            let elapsed = clock.now - start
            best = max(best, Double(events) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        return best.rounded()
    }

    static func slice(_ sparse: SparseBatch, _ range: Range<Int>) -> SparseBatch {
        let lo = Int(sparse.offsets[range.lowerBound]), hi = Int(sparse.offsets[range.upperBound])
        return SparseBatch(offsets: sparse.offsets[range.lowerBound...range.upperBound].map { $0 - Int32(lo) },
                           indices: Array(sparse.indices[lo..<hi]))
    }
}
