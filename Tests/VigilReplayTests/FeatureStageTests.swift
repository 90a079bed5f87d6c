// The feature stage runs ahead on its own thread and hands over exactly what one thread
// doing everything in order would have computed.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
@testable import VigilReplay

struct FeatureStageTests {
    /// Batches and labels through the stage equal the sequential loop's, bit for bit, however
    /// far ahead the stage may run (1 batch forces a hand-over per batch).
    @Test(arguments: [1, 3, 1_000_000])
    func theStageHandsOverWhatTheSequentialLoopComputes(batchesAhead: Int) throws {
        let input = Support.simulated(transactions: 3000)
        let batchSize = 64
        let reference = try sequential(input, batchSize: batchSize)
        let stage = FeatureStage(events: input.events, batchSize: batchSize, extractor: try FeatureExtractor(spec: .standard),
                                 schedule: try LabelSchedule(input: input, delay: .events(100)), eventsAhead: batchesAhead * batchSize)
        var got: [(Range<Int>, [Float], [UInt32], [String], Int64)] = []
        while let item = stage.next() {
            let b = item.batch
            got.append((item.range, Array(b.features[0..<(b.count * b.featureWidth)]), Array(b.sparse[0..<(b.count * b.sparseWidth)]),
                        item.labels.map(\.eventID), item.latestTime))
            stage.recycle(b)
        }
        let finished = stage.finish()
        #expect(got.count == reference.batches.count)
        for (a, b) in zip(got, reference.batches) {
            #expect(a.0 == b.0)
            #expect(a.1.map(\.bitPattern) == b.1.map(\.bitPattern), "features of events \(a.0)")
            #expect(a.2 == b.2 && a.3 == b.3 && a.4 == b.4, "events \(a.0)")
        }
        #expect(got.flatMap(\.3).count > 0, "the example releases labels")
        #expect(finished.unmatched == reference.unmatched)
    }

    /// A replay that stops early (a scoring error) stops the stage too, without a hang, and the
    /// stage is freed: whether its thread is working or blocked on a full queue.
    @Test func finishingEarlyStopsTheThread() throws {
        // Released after an early finish, the stage's semaphores hold fewer signals than they
        // were made with; libdispatch traps on that unless they were created empty (seen in CI).
        let input = Support.simulated(transactions: 3000)
        for taken in [0, 1, 5] {
            for blocked in [false, true] {
                weak var freed: FeatureStage?
                do {
                    let stage = FeatureStage(events: input.events, batchSize: 16, extractor: try FeatureExtractor(spec: .standard),
                                             schedule: try LabelSchedule(input: input, delay: .events(10)), eventsAhead: 32)
                    freed = stage
                    for _ in 0..<taken { if let item = stage.next() { stage.recycle(item.batch) } }
                    // eventsAhead 32 at 16 a batch is two batches of room: holding two batches
                    // without recycling them leaves the thread waiting for room.
                    if blocked { for _ in 0..<2 { _ = stage.next() } }
                    _ = stage.finish()
                    _ = stage.finish()
                }
                // The thread holds the last reference until it exits: wait for that, so a trap
                // in the stage's deinit happens inside this test (bounded, not a timing assertion).
                for _ in 0..<10_000 where freed != nil { usleep(1_000) }
                #expect(freed == nil, "a finished stage was not freed (taken \(taken), blocked \(blocked))")
            }
        }
    }

    private func sequential(_ input: ReplayInput, batchSize: Int) throws
        -> (batches: [(Range<Int>, [Float], [UInt32], [String], Int64)], unmatched: Int) {
        var extractor = try FeatureExtractor(spec: .standard), schedule = try LabelSchedule(input: input, delay: .events(100))
        var batcher = FeatureBatcher(), batch = ScoredBatch(), latest = Int64.min
        var out: [(Range<Int>, [Float], [UInt32], [String], Int64)] = []
        for start in stride(from: 0, to: input.events.count, by: batchSize) {
            let end = min(start + batchSize, input.events.count)
            batcher.extract(input.events[start..<end], extractor: &extractor, into: &batch)
            for e in input.events[start..<end] { latest = max(latest, e.timestampMillis) }
            var labels: [String] = []
            schedule.release(lastScored: end - 1, latestTime: latest) { p in
                extractor.apply(label: p.label)
                labels.append(p.label.eventID)
            }
            out.append((start..<end, Array(batch.features[0..<(batch.count * batch.featureWidth)]),
                        Array(batch.sparse[0..<(batch.count * batch.sparseWidth)]), labels, latest))
        }
        return (out, schedule.unmatched)
    }
}
