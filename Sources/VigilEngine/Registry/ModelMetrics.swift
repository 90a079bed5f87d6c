// What the promotion guard measured for a model set: kept with the version (the `metrics`
// column of vigil.models) and shown by `vigil models list`.

/// The guard's measurements of one model set on the held-out window it was judged on.
public struct ModelMetrics: Sendable, Equatable, Codable {
    /// Average precision of the risk score on labelled held-out events; nil without labels.
    public var averagePrecision: Double?
    /// Mean log-loss of the risk score on labelled held-out events; nil without labels.
    public var logLoss: Double?
    /// Mean squared reconstruction error of the autoencoder on held-out recent traffic.
    public var reconstructionError: Double?
    /// Labelled held-out events and how many of them were fraud.
    public var heldOutEvents: Int
    public var heldOutFraud: Int
    /// Labelled events the classifier was trained on in total, and training steps of each model.
    public var labelledExamples: Int
    public var autoencoderSteps: Int
    public var classifierSteps: Int

    public init(averagePrecision: Double? = nil, logLoss: Double? = nil, reconstructionError: Double? = nil,
                heldOutEvents: Int = 0, heldOutFraud: Int = 0, labelledExamples: Int = 0,
                autoencoderSteps: Int = 0, classifierSteps: Int = 0) {
        self.averagePrecision = averagePrecision
        self.logLoss = logLoss
        self.reconstructionError = reconstructionError
        self.heldOutEvents = heldOutEvents
        self.heldOutFraud = heldOutFraud
        self.labelledExamples = labelledExamples
        self.autoencoderSteps = autoencoderSteps
        self.classifierSteps = classifierSteps
    }

    enum CodingKeys: String, CodingKey {
        case averagePrecision = "average_precision", logLoss = "log_loss", reconstructionError = "reconstruction_error"
        case heldOutEvents = "held_out_events", heldOutFraud = "held_out_fraud", labelledExamples = "labelled_examples"
        case autoencoderSteps = "autoencoder_steps", classifierSteps = "classifier_steps"
    }
}
