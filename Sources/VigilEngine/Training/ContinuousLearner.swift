// The learning schedule itself, free of threads and locks: given what arrived (joined labels,
// sampled traffic) and a clock reading, it tests both models on each label, teaches the
// challenger in bounded steps, and decides when the challenger is worth publishing. Serve runs it
// on the wall clock, replay on event time; the same input gives the same result.
import VigilML

/// Labels joined to their scored vectors, and sampled traffic, handed to the learner together.
public struct LearningWork: Sendable {
    var labelled: ExampleRows
    var traffic: ExampleRows

    init(featureWidth: Int, sparseWidth: Int) {
        labelled = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
        traffic = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
    }

    public var labels: Int { labelled.count }
    public var isEmpty: Bool { labelled.count == 0 && traffic.count == 0 }
}

/// What the guard decided at one publication check.
public struct PublicationCheck: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// Passed the guard; `OnlineTrainer.publish` has not yet made it live.
        case pending
        case promoted(version: Int64)
        case rejected
        /// The challenger diverged and was reset to the live weights.
        case reset
        /// The live model changed before the candidate was published; it was dropped.
        case stale
        /// The live model was replaced from outside (an operator, another instance): the
        /// challenger restarted from it.
        case followed(version: Int64)
    }
    public var number: Int
    public var liveVersion: Int64
    public var outcome: Outcome
    public var verdict: PromotionVerdict?
    /// Labels learnt in total when the check ran.
    public var labelsLearnt: Int
    /// The clock reading (milliseconds: wall clock in serve, event time in replay).
    public var atMillis: Int64

    public var summary: String {
        let what = switch outcome {
        case .pending: "candidate passed the guard"
        case .promoted(let v): "promoted version \(v)"
        case .rejected: "rejected candidate"
        case .reset: "reset the diverged challenger"
        case .stale: "dropped stale candidate"
        case .followed(let v): "followed live version \(v)"
        }
        return "publication check \(number) on version \(liveVersion): \(what)\(verdict.map { "; " + $0.summary } ?? ""), \(labelsLearnt) labels learnt"
    }
}

/// A version this trainer published, and the live version its candidate replaced.
public struct PublishedModel: Sendable, Equatable {
    public var version: Int64
    public var parent: Int64
}

/// A challenger that passed the guard, to be built under the version the publisher allocates.
struct Candidate: Sendable {
    let parent: Int64
    let check: Int
    let build: @Sendable (_ version: Int64, _ createdAtMillis: Int64) throws -> ModelSet
}

struct ContinuousLearner {
    let configuration: OnlineTrainerConfiguration
    let risk: RiskScorerConfiguration
    let guardrail: PromotionGuard
    /// Internal, not private: tests plant a diverged challenger.
    var challenger: Challenger
    private var memory: RehearsalMemory
    private(set) var window: PrequentialWindow
    /// Sampled rows not yet learnt (less than one autoencoder batch), and the normal-region sample.
    private var trafficQueue: ExampleRows
    /// Labels handed over after a check that passed in the same call: learnt in the next one.
    private var waiting: ExampleRows
    private var normalSample: ExampleRing
    /// Prequential mean reconstruction errors (live, challenger), exponentially weighted.
    private var reconstruction: (live: Double, challenger: Double)?
    private var generator: SeededGenerator
    private var labelsSinceCheck = 0
    private var autoencoderStepsSinceCheck = 0
    private var lastCheckMillis: Int64?
    private var firstCallMillis: Int64?
    private var lastPublishMillis: Int64?
    /// The last publication `learn` was told of (each is adopted at most once).
    private var adopted: Int64?
    private(set) var checks = 0
    private(set) var labelsLearnt = 0
    private(set) var resets = 0
    private(set) var classifierSteps = 0
    private(set) var autoencoderSteps = 0

    init(live: ModelSet, featureWidth: Int, sparseWidth: Int, configuration: OnlineTrainerConfiguration, risk: RiskScorerConfiguration) {
        self.configuration = configuration
        self.risk = risk
        guardrail = PromotionGuard(configuration: configuration)
        challenger = Challenger(live: live)
        memory = RehearsalMemory(featureWidth: featureWidth, sparseWidth: sparseWidth,
                                 fraudCapacity: configuration.fraudMemory, legitCapacity: configuration.legitMemory)
        window = PrequentialWindow(capacity: configuration.guardWindow)
        trafficQueue = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
        waiting = ExampleRows(featureWidth: featureWidth, sparseWidth: sparseWidth)
        normalSample = ExampleRing(featureWidth: featureWidth, sparseWidth: sparseWidth, capacity: configuration.normalRegionSample)
        generator = SeededGenerator(seed: configuration.seed)
    }

    /// Learns from `work` with `live` as the model in service at `nowMillis`. A candidate of
    /// this learner that went live (`published`, replacing the challenger's base) becomes the
    /// challenger's base; any other live model came from outside (an operator's promote or
    /// rollback, another instance) and is followed. Returns the checks made and a candidate when one passed the guard.
    mutating func learn(_ work: LearningWork, live: ModelSet, published: PublishedModel?, nowMillis: Int64) -> (checks: [PublicationCheck], candidate: Candidate?) {
        var made: [PublicationCheck] = []
        var candidate: Candidate?
        if firstCallMillis == nil { firstCallMillis = nowMillis }
        if let published, published.version != adopted, published.parent == challenger.basedOn {
            challenger.basedOn = published.version
        }
        adopted = published?.version
        if live.version != challenger.basedOn {
            restart(from: live)
            checks += 1
            made.append(PublicationCheck(number: checks, liveVersion: live.version, outcome: .followed(version: live.version),
                                         labelsLearnt: labelsLearnt, atMillis: nowMillis))
        }
        func checkIfDue(force: Bool) {
            guard candidate == nil else { return }
            let byLabels = labelsSinceCheck >= configuration.publishEveryLabels
            // The time trigger needs enough learnt: on a slow stream (or replayed in event
            // time) a check per trickle of labels would cost a window sort each.
            let learnt = labelsSinceCheck >= configuration.publishMinimumLabels || autoencoderStepsSinceCheck > 0
            // The interval runs from the last check, or from the first call before any check.
            let since = lastCheckMillis ?? firstCallMillis ?? nowMillis
            let byTime = learnt && nowMillis - since >= OnlineTrainerConfiguration.millis(configuration.publishInterval)
            guard byLabels || byTime || (force && learnt) else { return }
            if let last = lastPublishMillis, nowMillis - last < OnlineTrainerConfiguration.millis(configuration.minimumPublishGap) { return }
            let (check, next) = self.check(live: live, nowMillis: nowMillis)
            made.append(check)
            candidate = next
        }

        var offset = 0
        while trafficQueue.count + work.traffic.count - offset >= configuration.autoencoderBatch {
            let take = configuration.autoencoderBatch - trafficQueue.count
            trafficQueue.append(contentsOf: work.traffic.slice(offset..<(offset + take)))
            offset += take
            learnAutoencoder(trafficQueue, live: live)
            trafficQueue = ExampleRows(featureWidth: trafficQueue.featureWidth, sparseWidth: trafficQueue.sparseWidth)
        }
        if offset < work.traffic.count { trafficQueue.append(contentsOf: work.traffic.slice(offset..<work.traffic.count)) }

        // Labels up to the first check that passes; the rest wait for the next call (made
        // right after the publication), so a backlog is learnt and published in the same
        // steps whatever sizes it is handed over in.
        waiting.append(contentsOf: work.labelled)
        var start = 0
        while start < waiting.count, candidate == nil {
            let end = chunkEnd(from: start)
            learnLabels(waiting.slice(start..<end), live: live)
            start = end
            checkIfDue(force: false)
        }
        waiting = start == waiting.count ? ExampleRows(featureWidth: waiting.featureWidth, sparseWidth: waiting.sparseWidth)
                                         : waiting.slice(start..<waiting.count)
        checkIfDue(force: false)
        return (made, candidate)
    }

    /// Fills the rehearsal memory with examples an earlier learner of the lineage learnt:
    /// rehearsed from now on, never learnt again, counted in no figure.
    mutating func recall(_ rows: ExampleRows) { memory.add(rows) }

    /// Examples held for rehearsal (both classes).
    var rehearsalCount: Int { memory.count }

    /// Labels handed over but not yet learnt (a check passed before them).
    var waitingLabels: Int { waiting.count }

    /// Where the step starting at `start` of the waiting labels ends: after `labelsPerStep`
    /// labels or `fraudsPerStep` frauds, whichever comes first.
    private func chunkEnd(from start: Int) -> Int {
        let limit = min(start + configuration.labelsPerStep, waiting.count)
        guard configuration.fraudsPerStep > 0 else { return limit }
        var frauds = 0
        for i in start..<limit where waiting.labels[i] >= 0.5 {
            frauds += 1
            if frauds == configuration.fraudsPerStep { return i + 1 }
        }
        return limit
    }

    // MARK: Per event: the autoencoder

    private mutating func learnAutoencoder(_ chunk: ExampleRows, live: ModelSet) {
        // Test first: both autoencoders' error on traffic neither has learnt from.
        if let l = try? live.scorer.anomaly.meanReconstructionError(chunk),
           let c = try? challenger.anomaly.meanReconstructionError(chunk) {
            let a = 1.0 / 16
            reconstruction = reconstruction.map { ($0.live + a * (l - $0.live), $0.challenger + a * (c - $0.challenger)) } ?? (l, c)
        }
        for i in 0..<chunk.count {
            normalSample.append(dense: chunk.dense[(i * chunk.featureWidth)..<((i + 1) * chunk.featureWidth)],
                                sparse: chunk.sparse[(i * chunk.sparseWidth)..<((i + 1) * chunk.sparseWidth)])
        }
        var batch = chunk
        batch.known = [Int8](repeating: -1, count: chunk.count)
        memory.draw(configuration.autoencoderLabelled, into: &batch, known: true, generator: &generator)
        batch.labels = []
        do {
            try challenger.learn(autoencoderRows: batch)
            autoencoderSteps += 1
            autoencoderStepsSinceCheck += 1
            if autoencoderSteps % configuration.normalRegionRefitSteps == 0 { try refitNormalRegion() }
        } catch {
            reset(to: live)
        }
    }

    private mutating func refitNormalRegion() throws {
        var rows = ExampleRows(featureWidth: normalSample.featureWidth, sparseWidth: normalSample.sparseWidth)
        for i in 0..<normalSample.count { normalSample.copy(i, to: &rows, label: 0) }
        guard rows.count >= 2 else { return }
        try challenger.refitNormalRegion(rows: rows.dense, count: rows.count)
    }

    // MARK: Per label: the classifier

    private mutating func learnLabels(_ chunk: ExampleRows, live: ModelSet) {
        // Test: the live model and the challenger score every label before it teaches.
        let liveRisks: [Float]
        let mine: (inputs: [Float], anomaly: [Float]), scored: (risks: [Float], logits: [Float])
        do {
            let sparse = live.scorer.classifier.configuration.hashBuckets > 0 ? chunk.sparseBatch : nil
            let scores = try live.scorer.score(batch: chunk.dense, sparse: sparse, count: chunk.count)
            liveRisks = scores.map { risk.risk($0, classifierIsTrained: live.classifierIsTrained) }
            mine = try challenger.inputs(chunk)
            scored = try challenger.score(chunk, inputs: mine, risk: risk)
        } catch {
            // Rows were finite when scored, so this is the challenger's own failure.
            reset(to: live)
            return
        }
        for j in 0..<chunk.count {
            window.add(isFraud: chunk.labels[j] >= 0.5, live: liveRisks[j], challenger: scored.risks[j], challengerLogit: scored.logits[j],
                       challengerAnomaly: mine.anomaly[j])
        }
        // Train: the fresh labels plus a class-balanced draw of older ones.
        let frauds = chunk.fraudCount
        let seen = memory.count + chunk.count
        let bothClasses = memory.fraud.count + frauds > 0 && memory.legit.count + chunk.count - frauds > 0
        if configuration.trainsClassifier, seen >= configuration.minimumLabels, bothClasses {
            var batch = chunk
            var rehearsed = ExampleRows(featureWidth: chunk.featureWidth, sparseWidth: chunk.sparseWidth)
            memory.draw(configuration.rehearsalPerStep, into: &rehearsed, generator: &generator)
            do {
                var inputs = mine.inputs
                if rehearsed.count > 0 {
                    inputs += try challenger.inputs(rehearsed).inputs
                    batch.append(contentsOf: rehearsed)
                }
                try challenger.learn(classifierInputs: inputs, rows: batch)
                classifierSteps += 1
            } catch {
                reset(to: live)
            }
        }
        memory.add(chunk)
        labelsLearnt += chunk.count
        labelsSinceCheck += chunk.count
    }

    // MARK: Publication

    private mutating func check(live: ModelSet, nowMillis: Int64) -> (PublicationCheck, Candidate?) {
        checks += 1
        lastCheckMillis = nowMillis
        labelsSinceCheck = 0
        autoencoderStepsSinceCheck = 0
        if challenger.classifierIsTrained, window.frauds > 0, window.frauds < window.count {
            // Calibrated on its own prequential logits: probabilities mean what they say
            // although rehearsal shows the classifier far more fraud than the stream holds.
            let data = window.calibrationData()
            challenger.calibrate(logits: data.logits, labels: data.labels)
            let calibration = challenger.classifier.calibration, risk = self.risk
            window.rescoreChallenger { anomaly, logit in
                risk.risk(Score(anomaly: anomaly, fraudProbability: calibration.probability(logit: logit)), classifierIsTrained: true)
            }
        }
        let figures = window.figures()
        let verdict = guardrail.judge(window: figures, reconstruction: reconstruction, liveClassifierTrained: live.classifierIsTrained)
        var check = PublicationCheck(number: checks, liveVersion: live.version, outcome: .rejected, verdict: verdict,
                                     labelsLearnt: labelsLearnt, atMillis: nowMillis)
        if verdict.diverged {
            reset(to: live)
            check.outcome = .reset
            return (check, nil)
        }
        guard verdict.promote else { return (check, nil) }
        check.outcome = .pending
        lastPublishMillis = nowMillis
        var metrics = verdict.candidate
        metrics.labelledExamples = labelsLearnt
        metrics.autoencoderSteps = challenger.frozen.steps
        // Judged on reconstruction alone, only the autoencoder goes out: the live (untrained)
        // classifier stays until enough frauds can vouch for the challenger's.
        let classifier = verdict.metric == .averagePrecision ? challenger.classifier : live.classifier
        metrics.classifierSteps = classifier.steps
        let autoencoder = challenger.frozen, parent = live.version, specHash = live.featureSpecHash, architecture = live.architecture
        let final = metrics
        return (check, Candidate(parent: parent, check: check.number, build: { version, createdAtMillis in
            try ModelSet(version: version, parent: parent, createdAtMillis: createdAtMillis, featureSpecHash: specHash,
                         architecture: architecture, autoencoder: autoencoder, classifier: classifier, metrics: final)
        }))
    }

    /// A diverged challenger starts again from the live weights; its window evidence goes with it.
    private mutating func reset(to live: ModelSet) {
        restart(from: live)
        resets += 1
    }

    private mutating func restart(from live: ModelSet) {
        challenger = Challenger(live: live)
        window.clear()
        reconstruction = nil
    }
}
