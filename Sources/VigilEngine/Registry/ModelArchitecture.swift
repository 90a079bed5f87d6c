// The shapes and storage choices of a model set, fixed at cold start and kept by every
// version trained from it.
import VigilML

/// How the two models of a fresh model set are built and frozen for scoring.
public struct ModelArchitecture: Sendable, Equatable {
    /// Hidden widths of the autoencoder's encoder. Default: [32].
    public var encoderWidths: [Int] = [32]
    /// Embedding width of the autoencoder. Default: 8.
    public var embeddingWidth: Int = 8
    /// Hidden widths of the autoencoder's decoder. Default: [32].
    public var decoderWidths: [Int] = [32]
    /// Learning rate of the autoencoder. Default: 0.001.
    public var autoencoderLearningRate: Float = 1e-3
    /// Hidden widths of the classifier. Default: [64, 32].
    public var classifierHiddenWidths: [Int] = [64, 32]
    /// Width of each hashed bucket's embedding in the classifier. Default: 8.
    public var bagWidth: Int = 8
    /// Feed the autoencoder's score and embedding to the classifier (DESIGN.md). Default: true.
    public var classifierUsesAnomalyInputs = true
    /// Feed the spec's hashed categorical inputs to the classifier. Default: true.
    public var classifierUsesSparseInputs = true
    /// Classifier pruning schedule. Default: VigilML's (70% by step 500).
    public var sparsity = SparsitySchedule()
    /// Learning rate of the classifier. Default: 0.003.
    public var classifierLearningRate: Float = 3e-3
    /// Stored precision of the published autoencoder's weights. Default: Float32.
    public var autoencoderPrecision: WeightPrecision = .float32
    /// Stored precision of the published classifier's weights (Float32 arithmetic). Default: Float16.
    public var classifierPrecision: WeightPrecision = .float16
    /// When set, both models are frozen as INT8 at every publication (dense Int8 weights per
    /// output channel, Int32 accumulation), their activation codes calibrated on these events;
    /// the precisions above then do not apply to scoring. Training stays Float32 either way.
    /// Set by `vigil models compress --int8`; a set trained from it keeps it. Default: nil.
    public var int8Calibration: CalibrationEvents?
    /// Seed of both models' initialisation. Default: 1.
    public var seed: UInt64 = 1

    public init() {}

    func autoencoderConfiguration(featureWidth: Int) -> ContrastiveAutoencoder.Configuration {
        var c = ContrastiveAutoencoder.Configuration(inputWidth: featureWidth)
        c.encoderWidths = encoderWidths
        c.embeddingWidth = embeddingWidth
        c.decoderWidths = decoderWidths
        c.optimizer.learningRate = autoencoderLearningRate
        c.seed = seed
        return c
    }

    func classifierConfiguration(featureWidth: Int, sparseDimension: Int) -> SparseClassifier.Configuration {
        var c = SparseClassifier.Configuration(
            denseWidth: featureWidth + (classifierUsesAnomalyInputs ? 1 + embeddingWidth : 0))
        c.hashBuckets = classifierUsesSparseInputs ? sparseDimension : 0
        c.bagWidth = bagWidth
        c.hiddenWidths = classifierHiddenWidths
        c.sparsity = sparsity
        c.optimizer.learningRate = classifierLearningRate
        c.seed = seed &+ 1
        return c
    }
}
