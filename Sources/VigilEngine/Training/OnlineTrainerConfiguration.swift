// Settings of the background trainer and its promotion guard.

/// How much the trainer remembers, how it trains, and when a candidate may replace the live model.
public struct OnlineTrainerConfiguration: Sendable, Equatable {
    /// Recent scored vectors remembered (recent traffic, and what labels can join to). Default: 100,000.
    public var recentCapacity = 100_000
    /// Labelled examples remembered, newest kept. Default: 50,000.
    public var labelledCapacity = 50_000
    /// Recent vectors sampled per round for the autoencoder. Default: 4,096.
    public var autoencoderSample = 4096
    /// Autoencoder mini-batch steps per round. Default: 32.
    public var autoencoderSteps = 32
    /// Passes over the labelled training part per round. Default: 4.
    public var classifierEpochs = 4
    /// Mini-batch size of both models. Default: 128.
    public var batchSize = 128
    /// Newest share of labelled examples held out to judge candidates. Default: 0.25.
    public var holdoutFraction = 0.25
    /// Newest share of the remaining labelled examples used to calibrate the classifier. Default: 0.2.
    public var calibrationFraction = 0.2
    /// Whether rounds train the classifier at all (false: only the autoencoder learns, as in
    /// an autoencoder-only backtest). Default: true.
    public var trainsClassifier = true
    /// Labelled examples needed before the classifier trains. Default: 200.
    public var minimumLabels = 200
    /// Fraud labels the holdout needs before average precision decides (else the
    /// autoencoder's reconstruction error on held-out traffic does). Default: 5.
    public var minimumHoldoutFraud = 5
    /// Recent vectors needed before any round runs. Default: 256.
    public var minimumTraffic = 256
    /// A candidate may lose at most this much average precision. Default: 0.005.
    public var averagePrecisionTolerance = 0.005
    /// Without labels, a candidate's held-out reconstruction error may exceed the live one's
    /// by at most this fraction. Default: 0.02.
    public var reconstructionTolerance = 0.02
    /// Time between rounds of the background thread. Default: 30 seconds.
    public var interval: Duration = .seconds(30)
    /// New labels that start a round early. Default: 500.
    public var labelsPerRound = 500
    /// Newly scored events that start a round early. Traffic drifts fastest right after a
    /// cold start (card histories fill up, so a first model fitted on empty histories calls
    /// most later traffic anomalous); rounds by volume let the autoencoder follow it at any
    /// event rate instead of once per `interval`. Default: 25,000.
    public var trafficPerRound = 25_000
    /// Least time from one round's start to a round started by traffic volume, so a high
    /// event rate does not keep a core training (at 10,000 events/s, 25,000 events are
    /// 2.5 s). Labels and `interval` are not held back by it. Default: 10 seconds.
    public var trafficRoundGap: Duration = .seconds(10)
    /// Seed of sampling and shuffling (rounds are reproducible for the same data). Default: 1.
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        guard recentCapacity >= minimumTraffic, minimumTraffic >= 2, labelledCapacity > 0, autoencoderSample >= 2,
              autoencoderSteps >= 0, classifierEpochs >= 0, batchSize >= 2, (0.05...0.9).contains(holdoutFraction),
              (0...0.5).contains(calibrationFraction), minimumLabels >= 2, minimumHoldoutFraud >= 1,
              averagePrecisionTolerance >= 0, reconstructionTolerance >= 0, interval > .zero, labelsPerRound > 0,
              trafficPerRound > 0, trafficRoundGap >= .zero else {
            throw EngineError(.invalidConfiguration, "online trainer setting out of range: \(self)")
        }
    }
}
