// The promotion guard on a compressed version: the trainer's own judgement of a challenger,
// passed on the held-back events of `vigil models compress` instead of the prequential window.
import VigilML

/// What the promotion guard said of a compressed version against its parent on the held-back
/// events: kept in the version's metrics (`compression.guard`).
public struct CompressionVerdict: Sendable, Equatable, Codable {
    /// Whether the guard would let it replace its parent.
    public var promote: Bool
    /// Its log-loss blew up against the parent's (or went non-finite).
    public var diverged: Bool
    /// "average_precision" or "reconstruction_error"; nil when nothing could decide (too few
    /// frauds held back to judge a classifier, and the parent's classifier has learnt).
    public var metric: String?
    /// How far below the parent's average precision it was allowed to be.
    public var margin: Double?
    /// Average precision and log-loss of the risk the decision policy would see, and the mean
    /// reconstruction error of the autoencoder, for the version and for its parent.
    public var averagePrecision: Double?
    public var parentAveragePrecision: Double?
    public var logLoss: Double?
    public var parentLogLoss: Double?
    public var reconstructionError: Double?
    public var parentReconstructionError: Double?
    /// Held-back labels judged on, and how many were fraud.
    public var labels: Int
    public var frauds: Int
    /// Stored although the guard rejected it: the operator overrode it.
    public var overridden: Bool
    /// The guard's one-line summary, as the trainer logs it.
    public var summary: String

    init(_ v: PromotionVerdict, overridden: Bool) {
        promote = v.promote
        diverged = v.diverged
        metric = v.metric?.rawValue
        margin = v.margin
        averagePrecision = v.candidate.averagePrecision
        parentAveragePrecision = v.live.averagePrecision
        logLoss = v.candidate.logLoss
        parentLogLoss = v.live.logLoss
        reconstructionError = v.candidate.reconstructionError
        parentReconstructionError = v.live.reconstructionError
        labels = v.candidate.windowLabels
        frauds = v.candidate.windowFrauds
        self.overridden = overridden
        summary = v.summary
    }

    enum CodingKeys: String, CodingKey {
        case promote, diverged, metric, margin
        case averagePrecision = "average_precision", parentAveragePrecision = "parent_average_precision"
        case logLoss = "log_loss", parentLogLoss = "parent_log_loss"
        case reconstructionError = "reconstruction_error", parentReconstructionError = "parent_reconstruction_error"
        case labels, frauds, overridden, summary
    }
}

/// How `vigil models compress` passes a compressed version through the promotion guard.
public struct CompressionGuardSettings: Sendable, Equatable {
    /// The guard's settings (frauds needed, margin, divergence ratio, reconstruction tolerance):
    /// the trainer's. Default: the trainer's defaults.
    public var trainer = OnlineTrainerConfiguration()
    /// How scores become the risk the guard judges, as the scorer combines them. Default: the scorer's.
    public var risk = RiskScorerConfiguration()
    /// Store the version even when the guard rejects it (the verdict says so). Default: false.
    public var override = false

    public init() {}
}

extension ModelCompression {
    /// The guard's verdict on `child` (whose scorer is `scorer`) replacing `parent`, judged on
    /// the labelled events of `range`: every one scored by both, neither having learnt from it
    /// (the child was taught or calibrated on events before the range; the parent may have
    /// learnt from them in its own life, which can only favour the parent). The risk is the one
    /// the decision policy sees, as in the trainer's window; the autoencoders' mean
    /// reconstruction errors on all the range's events stand in for the trainer's running ones.
    /// `newClassifier`: the child's classifier is not the parent's (a student). Reconstruction
    /// error then cannot judge it (the autoencoder is the parent's, and the trainer too ships
    /// only the autoencoder of a challenger judged that way), so without average precision
    /// there is no evidence. Throws `.guardRejected` when the guard rejects it, unless
    /// `settings.override`.
    static func judge(_ scorer: Scorer, classifierIsTrained: Bool, newClassifier: Bool = false, against parent: ModelSet,
                      data: CompressionData, range: Range<Int>, usesSparse: Bool, settings: CompressionGuardSettings) throws -> CompressionVerdict {
        let rows = data.rows(range)
        let sparse = usesSparse ? data.sparseBatch(range) : nil
        let mine = try score(scorer, rows: rows, sparse: sparse, count: range.count)
        let theirs = try score(parent.scorer, rows: rows, sparse: sparse, count: range.count)
        let labelled = (0..<range.count).filter { data.truth[range.lowerBound + $0] != nil }
        var window = PrequentialWindow(capacity: max(labelled.count, 1))
        for j in labelled {
            window.add(isFraud: data.truth[range.lowerBound + j]!,
                       live: settings.risk.risk(theirs[j], classifierIsTrained: parent.classifierIsTrained),
                       challenger: settings.risk.risk(mine[j], classifierIsTrained: classifierIsTrained), challengerLogit: 0)
        }
        var examples = ExampleRows(featureWidth: data.featureWidth, sparseWidth: 0)
        examples.dense = rows
        examples.count = range.count
        let reconstruction = (live: try parent.scorer.anomaly.meanReconstructionError(examples),
                              challenger: try scorer.anomaly.meanReconstructionError(examples))
        var verdict = PromotionGuard(configuration: settings.trainer)
            .judge(window: window.figures(), reconstruction: reconstruction, liveClassifierTrained: parent.classifierIsTrained)
        if newClassifier && verdict.metric == .reconstructionError {
            verdict.metric = nil
            verdict.promote = false
        }
        let passed = verdict.promote && !verdict.diverged
        guard passed || settings.override else {
            throw EngineError(.guardRejected, "the promotion guard rejects it against version \(parent.version) on the \(range.count) held-back events: "
                              + verdict.summary)
        }
        return CompressionVerdict(verdict, overridden: !passed)
    }
}
