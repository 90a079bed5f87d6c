// Settings of the continuous learner and its promotion guard. Serve and replay run the same
// schedule; serve's clock is the wall clock, replay's the stream's event time.

/// How the learner remembers, learns per label and per event, and when its challenger may
/// replace the live model.
public struct OnlineTrainerConfiguration: Sendable, Equatable {
    /// Recent scored vectors remembered (what labels join to). Default: 100,000.
    public var recentCapacity = 100_000

    // MARK: Classifier, per label

    /// Fresh labels per classifier step: arriving labels are learnt in chunks of at most
    /// this many (fewer when fewer are waiting). Default: 8.
    public var labelsPerStep = 8
    /// ... and a chunk closes as soon as it holds this many fraud labels (0: never early).
    /// Fraud labels are rare and carry most of what the classifier learns, so each one gets
    /// a step of its own at once, while the abundant legitimate ones share steps. Default: 1.
    public var fraudsPerStep = 1
    /// Older labelled examples replayed in every step beside the fresh ones, half fraud and
    /// half legitimate while the memory holds both, so old fraud patterns are not forgotten
    /// and the legitimate majority does not drown them. Default: 48.
    public var rehearsalPerStep = 48
    /// Frauds the rehearsal memory keeps (newest first). Default: 4,096.
    public var fraudMemory = 4_096
    /// Legitimate examples the rehearsal memory keeps (newest first). Default: 16,384.
    public var legitMemory = 16_384
    /// Labels (with at least one of each class) before the classifier takes its first step.
    /// Default: 200.
    public var minimumLabels = 200
    /// Whether the classifier learns at all (false: only the autoencoder does, as in an
    /// autoencoder-only backtest). Default: true.
    public var trainsClassifier = true

    // MARK: Autoencoder, per event

    /// One scored event in this many joins the autoencoder's stream sample. Default: 16.
    public var trafficSampleEvery = 16
    /// Sampled events per autoencoder step. Default: 128.
    public var autoencoderBatch = 128
    /// Labelled examples (half fraud) added to each autoencoder step so its negative mining
    /// has known labels to push apart. Default: 16.
    public var autoencoderLabelled = 16
    /// Sampled events kept to refit the normal region (the anomaly score's reference). Default: 4,096.
    public var normalRegionSample = 4_096
    /// Autoencoder steps between refits of the normal region (the anomaly score's reference).
    /// Every step, so the reference follows the traffic while entity histories fill and the
    /// mix drifts: a reference fitted on the first events standardised later, fuller
    /// histories as anomalies and sent a third of a new deployment's traffic to review.
    /// Default: 1.
    public var normalRegionRefitSteps = 1

    // MARK: Publication and guard

    /// A publication check after this many labels learnt since the last check. Default: 1,000.
    public var publishEveryLabels = 1_000
    /// ... or once this long has passed since the last check with anything learnt, whichever
    /// comes first. Default: 30 seconds.
    public var publishInterval: Duration = .seconds(30)
    /// Labels learnt since the last check before the time trigger may fire (an autoencoder step
    /// also qualifies). A check passes over the whole guard window, so this bounds its cost
    /// per label when labels trickle in. Default: 64.
    public var publishMinimumLabels = 64
    /// Least time between two publications (keeps the `models` row rate reasonable in serve).
    /// Default: 1 second.
    public var minimumPublishGap: Duration = .seconds(1)
    /// Labels the guard's prequential window holds (the newest): each was scored by the live
    /// model and by the challenger before the challenger learnt from it. Default: 20,000.
    public var guardWindow = 20_000
    /// Frauds the window needs before average precision decides (else reconstruction error
    /// does, and only while the live classifier has not learnt). Default: 20.
    public var guardMinimumFrauds = 20
    /// The challenger may trail the live model's window AUPRC by this many standard errors
    /// of it (√(AP(1−AP)/frauds)): the window's own noise. Default: 1.
    public var guardMarginStandardErrors = 1.0
    /// The challenger has diverged when its window log-loss is non-finite, or above this
    /// multiple of the live model's and half a nat worse; it is then reset to the live
    /// weights. Default: 3.
    public var divergenceLogLossRatio = 3.0
    /// Without enough frauds, the challenger's prequential reconstruction error may exceed the
    /// live model's by at most this fraction. Default: 0.02.
    public var reconstructionTolerance = 0.02
    /// Longest the serve learner's thread sleeps when nothing arrives (its time trigger's
    /// resolution). Default: 1 second.
    public var wakeInterval: Duration = .seconds(1)
    /// Seed of rehearsal draws (learning is reproducible for the same input). Default: 1.
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        guard recentCapacity >= 1, labelsPerStep >= 1, fraudsPerStep >= 0, rehearsalPerStep >= 0, fraudMemory >= 1, legitMemory >= 1,
              minimumLabels >= 2, trafficSampleEvery >= 1, autoencoderBatch >= 2, autoencoderLabelled >= 0,
              normalRegionSample >= autoencoderBatch, normalRegionRefitSteps >= 1, publishEveryLabels >= 1,
              publishInterval > .zero, publishMinimumLabels >= 1, minimumPublishGap >= .zero, guardWindow >= 2, guardMinimumFrauds >= 1,
              guardMarginStandardErrors >= 0, divergenceLogLossRatio > 1, reconstructionTolerance >= 0,
              wakeInterval > .zero else {
            throw EngineError(.invalidConfiguration, "online trainer setting out of range: \(self)")
        }
    }

    /// The schedule as one line (metrics files, logs): every setting that decides what is learnt when.
    public var scheduleDescription: String {
        "labels_per_step=\(labelsPerStep),frauds_per_step=\(fraudsPerStep),rehearsal_per_step=\(rehearsalPerStep),fraud_memory=\(fraudMemory),"
            + "legit_memory=\(legitMemory),minimum_labels=\(minimumLabels),traffic_sample_every=\(trafficSampleEvery),"
            + "autoencoder_batch=\(autoencoderBatch),autoencoder_labelled=\(autoencoderLabelled),"
            + "normal_region_sample=\(normalRegionSample),normal_region_refit_steps=\(normalRegionRefitSteps),"
            + "publish_every_labels=\(publishEveryLabels),publish_interval_ms=\(Self.millis(publishInterval)),"
            + "publish_minimum_labels=\(publishMinimumLabels),"
            + "minimum_publish_gap_ms=\(Self.millis(minimumPublishGap)),guard_window=\(guardWindow),"
            + "guard_minimum_frauds=\(guardMinimumFrauds),guard_margin_se=\(guardMarginStandardErrors),"
            + "recent_capacity=\(recentCapacity)"
    }

    static func millis(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}
