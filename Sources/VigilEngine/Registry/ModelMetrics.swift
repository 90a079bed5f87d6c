// What the promotion guard measured for a model set: kept with the version (the `metrics`
// column of vigil.models) and shown by `vigil models list`.

/// The guard's prequential measurements of one model set when it was published.
public struct ModelMetrics: Sendable, Equatable, Codable {
    /// Average precision of the risk on the guard's window of labels (each scored before the
    /// model learnt from it); nil without both classes in the window.
    public var averagePrecision: Double?
    /// Mean log-loss of the risk on the window; nil without labels.
    public var logLoss: Double?
    /// Prequential mean squared reconstruction error of the autoencoder on sampled traffic.
    public var reconstructionError: Double?
    /// Labels in the guard's window and how many of them were fraud.
    public var windowLabels: Int
    public var windowFrauds: Int
    /// Labels the classifier had learnt from in total, and training steps of each model.
    public var labelledExamples: Int
    public var autoencoderSteps: Int
    public var classifierSteps: Int
    /// For a version made by `vigil models compress`: how it compares with its parent.
    public var compression: CompressionMetrics?

    public init(averagePrecision: Double? = nil, logLoss: Double? = nil, reconstructionError: Double? = nil,
                windowLabels: Int = 0, windowFrauds: Int = 0, labelledExamples: Int = 0,
                autoencoderSteps: Int = 0, classifierSteps: Int = 0) {
        self.averagePrecision = averagePrecision
        self.logLoss = logLoss
        self.reconstructionError = reconstructionError
        self.windowLabels = windowLabels
        self.windowFrauds = windowFrauds
        self.labelledExamples = labelledExamples
        self.autoencoderSteps = autoencoderSteps
        self.classifierSteps = classifierSteps
    }

    enum CodingKeys: String, CodingKey {
        case averagePrecision = "average_precision", logLoss = "log_loss", reconstructionError = "reconstruction_error"
        case windowLabels = "window_labels", windowFrauds = "window_frauds", labelledExamples = "labelled_examples"
        case autoencoderSteps = "autoencoder_steps", classifierSteps = "classifier_steps"
        case compression
        // Versions stored before the prequential guard counted a held-out window instead.
        case heldOutEvents = "held_out_events", heldOutFraud = "held_out_fraud"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        averagePrecision = try c.decodeIfPresent(Double.self, forKey: .averagePrecision)
        logLoss = try c.decodeIfPresent(Double.self, forKey: .logLoss)
        reconstructionError = try c.decodeIfPresent(Double.self, forKey: .reconstructionError)
        windowLabels = try c.decodeIfPresent(Int.self, forKey: .windowLabels) ?? c.decodeIfPresent(Int.self, forKey: .heldOutEvents) ?? 0
        windowFrauds = try c.decodeIfPresent(Int.self, forKey: .windowFrauds) ?? c.decodeIfPresent(Int.self, forKey: .heldOutFraud) ?? 0
        labelledExamples = try c.decodeIfPresent(Int.self, forKey: .labelledExamples) ?? 0
        autoencoderSteps = try c.decodeIfPresent(Int.self, forKey: .autoencoderSteps) ?? 0
        classifierSteps = try c.decodeIfPresent(Int.self, forKey: .classifierSteps) ?? 0
        compression = try c.decodeIfPresent(CompressionMetrics.self, forKey: .compression)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(averagePrecision, forKey: .averagePrecision)
        try c.encodeIfPresent(logLoss, forKey: .logLoss)
        try c.encodeIfPresent(reconstructionError, forKey: .reconstructionError)
        try c.encode(windowLabels, forKey: .windowLabels)
        try c.encode(windowFrauds, forKey: .windowFrauds)
        try c.encode(labelledExamples, forKey: .labelledExamples)
        try c.encode(autoencoderSteps, forKey: .autoencoderSteps)
        try c.encode(classifierSteps, forKey: .classifierSteps)
        try c.encodeIfPresent(compression, forKey: .compression)
    }
}
