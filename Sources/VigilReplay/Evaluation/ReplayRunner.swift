// The prequential loop: score each batch with the engine, decide, learn from labels once
// their delay has passed (test-then-train, in event time); then measure.
import Dispatch
import Foundation
import VigilEngine
import VigilFeatures
import VigilML

/// What a replay produced: the deterministic metrics, the wall-clock timing, and per-event risks.
public struct ReplayResult: Sendable {
    public var metrics: ReplayMetrics
    public var timing: ReplayTiming
    /// Per event, in input order: the policy's risk, the models' two scores, and the version
    /// of the model set that scored it (`--scores-out`).
    public var risks: [Float]
    public var anomalyScores: [Float]
    public var fraudProbabilities: [Float]
    public var modelVersions: [Int64]
    /// Day-by-day alert counts are in `metrics.days`; the model that was live at the end:
    public var finalModel: ModelSet
}

/// Runs VigilEngine's own `RiskScorer`, `DecisionPolicy` and `OnlineTrainer` over a decoded
/// input, exactly as `serve` wires them for one partition, with two differences that make the
/// run reproducible: the learner's clock is event time (its publication triggers fire at the
/// stream's recorded rate), and it learns at batch boundaries, its candidates going live a
/// fixed one batch later, rather than whenever the trainer's thread gets to them.
public enum ReplayRunner {
    public static func run(_ input: ReplayInput, configuration c: ReplayConfiguration,
                           progress: ((Int) -> Void)? = nil) throws -> ReplayResult {
        try c.validate()
        let n = input.events.count
        guard n > 0 else { throw ReplayError(.malformedInput, "the input holds no events") }
        let clock = ContinuousClock(), began = clock.now
        let extractor: FeatureExtractor
        do { extractor = try FeatureExtractor(spec: c.featureSpec) } catch {
            throw ReplayError(.invalidConfiguration, "feature spec", underlying: error)
        }

        var architecture = c.architecture
        architecture.seed = c.seed
        var risk = c.risk, trainerSettings = c.trainer
        trainerSettings.seed = c.seed
        switch c.models {
        case .cae: trainerSettings.trainsClassifier = false
        case .classifier:
            architecture.classifierUsesAnomalyInputs = false
            risk.anomalyWeight = 0
        case .both: break
        }

        // The starting model: a saved set, or a cold start on the leading events.
        // When each label becomes visible, worked out on another thread while the starting model trains.
        let delay = c.labelDelay
        let scheduleWork = BackgroundWork(name: "vigil-replay-labels") { try LabelSchedule(input: input, delay: delay) }
        var warmUp = 0
        let initial: ModelSet
        do {
            if let bytes = c.initialModel {
                initial = try ModelSet.decode(bytes)
            } else {
                warmUp = min(c.warmUpEvents, n)
                guard warmUp >= 64 else { throw ReplayError(.malformedInput, "a cold start needs at least 64 events, the input has \(n)") }
                initial = try ModelSet.coldStart(events: input.events[0..<warmUp], extractor: extractor, architecture: architecture,
                                                 createdAtMillis: input.events[0].timestampMillis)
            }
        } catch let e as ReplayError { throw e } catch {
            throw ReplayError(.engineFailure, "starting model", underlying: error)
        }
        let coldStartSeconds = (clock.now - began) / .seconds(1)

        let registry = ModelRegistry(initial: initial)
        let scorer: RiskScorer, policy: DecisionPolicy, trainer: OnlineTrainer?
        let ruleSet: RuleSet, baselineSet: RuleSet?
        do {
            policy = try DecisionPolicy(configuration: c.policy)
            let vocabulary = RuleVocabulary(spec: c.featureSpec)
            ruleSet = try policy.ruleSet(adding: c.rules, lists: c.ruleLists, vocabulary: vocabulary)
            baselineSet = try c.baselineRules.map { try policy.ruleSet(adding: $0, lists: c.ruleLists, vocabulary: vocabulary) }
        } catch {
            throw ReplayError(.invalidConfiguration, "rules", underlying: error)
        }
        do {
            // A backtest keeps risks and alerts, never reasons (rules do not read them either),
            // so the scorer skips them; the risk combination is the configured one.
            var scoring = risk
            scoring.reasonsPerEvent = 0
            scorer = try RiskScorer(registry: registry, extractor: extractor, configuration: scoring)
            trainer = c.freeze ? nil : try OnlineTrainer(registry: registry, featureWidth: extractor.denseCount,
                                                         sparseWidth: extractor.sparseCount, configuration: trainerSettings, risk: risk)
        } catch {
            throw ReplayError(.engineFailure, "engine setup", underlying: error)
        }
        let schedule = try scheduleWork.wait()

        var risks = [Float](repeating: 0, count: n)
        var anomalyScores = [Float](repeating: 0, count: n), probabilities = [Float](repeating: 0, count: n)
        var versions = [Int64](repeating: 0, count: n)
        var alerts = [Bool](repeating: false, count: n)
        // Where the metrics start (after the warm-up, or from --evaluate-from).
        let evaluatedFrom = max(warmUp, c.evaluateFrom?.index(in: input.events) ?? 0)
        var decisions: [Decision] = [], baselineDecisions: [Decision] = []
        var scoreboard = RuleScoreboard(set: ruleSet, comparing: baselineSet != nil)
        var promotions: [ReplayMetrics.Promotion] = []
        var delivered = 0
        var learningSeconds = 0.0, waitSeconds = 0.0, scoringSeconds = 0.0, handOverSeconds = 0.0, featureWaitSeconds = 0.0
        // Learning from batch k's labels runs on the learner's queue while batch k+1 is scored;
        // its candidate goes live before batch k+2 is scored, and only then is batch k+1's work
        // handed over (with that live model): a learn never starts on a model about to be
        // replaced, so no candidate goes stale, as in serve where learning and publishing take
        // turns on one thread. Each learn is given the live model of its hand-over point and
        // the batch's event time, so every run makes the same publications at the same events,
        // whatever the two threads' speeds.
        let lane = DispatchQueue(label: "vigil-replay-learner")
        var inFlight: [(work: BackgroundWork<(LearningOutcome, Double)>, handedAt: Int)] = []
        func publishOldest(at end: Int, time: Int64) throws {
            guard let trainer, !inFlight.isEmpty else { return }
            let flight = inFlight.removeFirst()
            let waitBegan = clock.now
            let (outcome, busy) = try flight.work.wait()
            waitSeconds += (clock.now - waitBegan) / .seconds(1)
            learningSeconds += busy
            record(outcome, learntAt: flight.handedAt, liveAfter: end, time: time)
            // Labels left waiting behind that publication are learnt now, before the next
            // hand-over, as serve's learner loops straight back to them.
            while trainer.hasWaitingLabels {
                let began = clock.now
                let more = trainer.learnWaiting(nowMillis: time)
                learningSeconds += (clock.now - began) / .seconds(1)
                record(more, learntAt: flight.handedAt, liveAfter: end, time: time)
            }
        }
        /// Publishes a passing candidate (stamped with event time, so saved model files are
        /// reproducible) and keeps every check's outcome.
        func record(_ outcome: LearningOutcome, learntAt: Int, liveAfter: Int, time: Int64) {
            guard let trainer else { return }
            var checks = outcome.checks.filter { $0.outcome != .pending }
            if let published = trainer.publish(outcome, createdAtMillis: time) { checks.append(published) }
            for check in checks.sorted(by: { $0.number < $1.number }) {
                promotions.append(promotion(check, learntAt: learntAt, liveAfter: liveAfter))
            }
        }
        // Features and the label clock run a few batches ahead on the other core (see FeatureStage).
        let features = FeatureStage(events: input.events, batchSize: c.batchSize, extractor: extractor, schedule: schedule)
        defer { _ = features.finish() }
        var lastEnd = 0, lastTime = input.events[0].timestampMillis
        while true {
            let fetchBegan = clock.now
            guard let item = features.next() else { break }
            var batch = item.batch
            let start = item.range.lowerBound, end = item.range.upperBound, latestTime = item.latestTime
            let slice = input.events[start..<end]
            let batchBegan = clock.now
            featureWaitSeconds += (batchBegan - fetchBegan) / .seconds(1)
            let scoringBegan = clock.now
            do { try scorer.score(extracted: &batch) } catch {
                throw ReplayError(.engineFailure, "scoring events \(start)..<\(end)", underlying: error)
            }
            if ruleSet.isEmpty && baselineSet == nil {
                // Without rules a decision is its risk's outcome: skip building Decision values
                // (four strings retained per event) when only the alert flag is kept.
                for j in 0..<(end - start) { alerts[start + j] = policy.outcome(risk: batch.risks[j]).raisesAlert }
            } else {
                // Rule figures cover the evaluated events only, like every other metric.
                var batchTally = RuleTally(for: ruleSet)
                decisions.removeAll(keepingCapacity: true)
                policy.decide(slice, in: batch, rules: ruleSet, tally: &batchTally, into: &decisions)
                baselineDecisions.removeAll(keepingCapacity: true)
                if let baselineSet {
                    var baselineTally = RuleTally(for: baselineSet)
                    policy.decide(slice, in: batch, rules: baselineSet, tally: &baselineTally, into: &baselineDecisions)
                }
                for j in 0..<(end - start) {
                    let outcome = decisions[j].outcome
                    alerts[start + j] = outcome.raisesAlert
                    guard start + j >= evaluatedFrom else { continue }
                    scoreboard.record(fired: batchTally.fired(j), truth: input.truth.isEmpty ? .unknown : input.truth[start + j],
                                      outcome: outcome, baseline: baselineSet == nil ? nil : baselineDecisions[j].outcome)
                }
            }
            for j in 0..<(end - start) {
                risks[start + j] = batch.risks[j]
                anomalyScores[start + j] = batch.scores[j].anomaly
                probabilities[start + j] = batch.scores[j].fraudProbability
                versions[start + j] = batch.modelVersion
            }
            let scored = clock.now
            scoringSeconds += (scored - scoringBegan) / .seconds(1)
            trainer?.observe(batch, events: slice)
            features.recycle(batch)
            // The extractor already has these labels (the stage applied them after this batch).
            for label in item.labels {
                trainer?.record(label: label)
                delivered += 1
            }
            if let trainer {
                try publishOldest(at: end, time: latestTime)
                let work = trainer.takeQueued(), live = registry.current, published = trainer.lastPublished
                inFlight.append((BackgroundWork(on: lane) {
                    let began = ContinuousClock.now
                    let outcome = trainer.learn(work, live: live, published: published, nowMillis: latestTime)
                    return (outcome, (ContinuousClock.now - began) / .seconds(1))
                }, end))
            }
            handOverSeconds += (clock.now - scored) / .seconds(1)
            lastEnd = end
            lastTime = latestTime
            progress?(end)
        }
        // What was learnt from the last batches goes live after the input ends: it scores
        // nothing, but the final model (--save-model) has learnt from every label delivered.
        while !inFlight.isEmpty { try publishOldest(at: lastEnd, time: lastTime) }

        let metricsBegan = clock.now, elapsed = (metricsBegan - began) / .seconds(1)
        var metrics = MetricsBuilder.build(name: c.name, configuration: c.record, events: input.events, truth: input.truth,
                                           risks: risks, alerts: alerts, from: evaluatedFrom,
                                           budgets: c.alertBudgets, cardsPerDay: c.cardsPerDay,
                                           cardsKnown: !input.absentFields.contains(.card), seed: c.seed)
        metrics.promotions = promotions
        if !ruleSet.isEmpty || baselineSet != nil {
            metrics.rules = scoreboard.metrics
            metrics.ruleChanges = scoreboard.changes
            metrics.configuration["rules"] = (0..<ruleSet.activeCount).map { ruleSet.activeRule($0) }
                .map { "\($0.name) (\($0.mode.rawValue) \($0.outcome.rawValue))" }.joined(separator: ", ")
        }
        metrics.labelsDelivered = delivered
        let stage = features.finish()
        metrics.labelsUnmatched = stage.unmatched
        metrics.finalModelVersion = registry.currentVersion
        metrics.skippedRows = input.problems.count
        let metricsSeconds = (clock.now - metricsBegan) / .seconds(1)
        let timing = ReplayTiming(seconds: elapsed, eventsPerSecond: Double(n) / max(elapsed, 1e-9),
                                  trainingSeconds: learningSeconds, trainingWaitSeconds: waitSeconds,
                                  coldStartSeconds: coldStartSeconds, scoringSeconds: scoringSeconds,
                                  learningSeconds: handOverSeconds, metricsSeconds: metricsSeconds,
                                  featureSeconds: stage.busySeconds, featureWaitSeconds: featureWaitSeconds)
        return ReplayResult(metrics: metrics, timing: timing, risks: risks, anomalyScores: anomalyScores,
                            fraudProbabilities: probabilities, modelVersions: versions, finalModel: registry.current)
    }

    static func promotion(_ check: PublicationCheck, learntAt: Int, liveAfter: Int) -> ReplayMetrics.Promotion {
        let (outcome, version, detail): (String, Int64, String) = switch check.outcome {
        case .promoted(let v): ("promoted", v, check.verdict?.summary ?? "")
        case .pending, .rejected: ("rejected", check.liveVersion, check.verdict?.summary ?? "")
        case .reset: ("reset", check.liveVersion, check.verdict?.summary ?? "")
        case .stale: ("stale", check.liveVersion, "")
        case .followed(let v): ("followed", v, "")
        }
        return ReplayMetrics.Promotion(trainedOnEvents: learntAt, afterEvents: liveAfter, eventTime: EventTimestamp.formatRFC3339(check.atMillis),
                                       round: check.number, labelsLearnt: check.labelsLearnt, outcome: outcome, version: version, detail: detail)
    }
}
