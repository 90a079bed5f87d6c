// The replay's feature half on a thread of its own: events through the extractor and the
// label schedule, a few batches ahead of the models.
import Dispatch
import Foundation
import Synchronization
import VigilEngine
import VigilFeatures

/// One batch of extracted features, ahead of the models.
struct ExtractedBatch: Sendable {
    var range: Range<Int>
    var batch: ScoredBatch
    /// Labels that become visible once this batch is scored, in release order. They are
    /// already applied to the extractor (before the next batch is extracted); the trainer
    /// still has to record them.
    var labels: [LabelEvent]
    /// The input index of each label's event, in the same order.
    var labelledEvents: [Int]
    /// The latest event time up to and including this batch.
    var latestTime: Int64
}

/// Runs feature extraction and the label schedule for every batch of a replay, in order,
/// on its own thread, while the replay thread runs the models, decisions and training.
///
/// Why this is the same replay as one thread doing everything: which labels are released
/// after a batch depends only on the events (positions and times), never on scores, so the
/// extractor sees exactly the same sequence (batch k, then the labels due after it, then
/// batch k + 1), and the replay thread hands the trainer the same batches and labels in the
/// same order. The metrics are byte-identical; only the wall clock changes.
final class FeatureStage: Sendable {
    private struct State {
        var queue: [ExtractedBatch] = []
        var spare: [ScoredBatch] = []
        var cancelled = false
        var finished = false
        var unmatched = 0
        var busySeconds = 0.0
    }

    private let state = Mutex(State())
    /// One signal per queued batch, and one when the stage has finished.
    private let ready = DispatchSemaphore(value: 0)
    /// Free places in the queue: the stage runs at most `depth` batches ahead.
    private let room: DispatchSemaphore
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts extracting at once. `extractor` and `schedule` are the replay's own (moved here).
    /// - Parameter eventsAhead: how far the stage may run ahead of the models. Enough to keep
    ///   the other core busy through a training round (which stops the replay thread for
    ///   about 0.2 s, some 100,000 events of extraction) at about 30 bytes per dense feature
    ///   and sparse index of each event. Default: 131,072 (16 MB with the standard spec).
    init(events: [TransactionEvent], batchSize: Int, extractor: FeatureExtractor, schedule: LabelSchedule, eventsAhead: Int = 131_072) {
        // Created empty and then signalled: libdispatch traps when a semaphore is released with
        // a lower value than it was created with, which an early finish leaves behind.
        room = DispatchSemaphore(value: 0)
        for _ in 0..<max(2, eventsAhead / max(batchSize, 1)) { room.signal() }
        let thread = Thread { [self] in
            Thread.current.name = "vigil-replay-features"
            var extractor = extractor, schedule = schedule, batcher = FeatureBatcher()
            let clock = ContinuousClock()
            var latest = Int64.min, start = 0, busy = Duration.zero
            while start < events.count {
                room.wait()
                guard let reused = state.withLock({ $0.cancelled ? nil : $0.spare.popLast() ?? ScoredBatch() }) else { break }
                let began = clock.now
                var batch = reused
                let end = min(start + batchSize, events.count)
                batcher.extract(events[start..<end], extractor: &extractor, into: &batch)
                for i in start..<end { latest = max(latest, events[i].timestampMillis) }
                var labels: [LabelEvent] = [], labelledEvents: [Int] = []
                schedule.release(lastScored: end - 1, latestTime: latest) { p in
                    extractor.apply(label: p.label)
                    labels.append(p.label)
                    labelledEvents.append(p.eventIndex)
                }
                busy += clock.now - began
                let item = ExtractedBatch(range: start..<end, batch: batch, labels: labels, labelledEvents: labelledEvents, latestTime: latest)
                state.withLock { $0.queue.append(item) }
                ready.signal()
                start = end
            }
            let unmatched = schedule.unmatched, seconds = busy / .seconds(1)
            state.withLock { s in
                s.finished = true
                s.unmatched = unmatched
                s.busySeconds = seconds
            }
            ready.signal()
            stopped.signal()
        }
        thread.name = "vigil-replay-features"
        thread.start()
    }

    /// The next batch in order, waiting for it if needed; nil once every batch was taken.
    func next() -> ExtractedBatch? {
        ready.wait()
        return state.withLock { s in
            if !s.queue.isEmpty { return s.queue.removeFirst() }
            precondition(s.finished, "the feature stage signalled without a batch")
            return nil
        }
    }

    /// Gives a batch's buffers back for a later batch (no allocation once the queue is full).
    func recycle(_ batch: ScoredBatch) {
        state.withLock { $0.spare.append(batch) }
        room.signal()
    }

    /// Stops the thread (at once if the replay stopped early) and waits for it. Returns the
    /// labels that named no event, and the seconds the stage spent working.
    func finish() -> (unmatched: Int, busySeconds: Double) {
        state.withLock { $0.cancelled = true }
        room.signal()
        stopped.wait()
        stopped.signal()  // finish may be called again (a `defer` after a normal end)
        return state.withLock { ($0.unmatched, $0.busySeconds) }
    }
}
