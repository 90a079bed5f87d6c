// Write-behind without a database: the hand-over writes batches one at a time and in order,
// reports each commit as it happens, and drops the batch behind one that was not committed.
import Foundation
import Synchronization
import Testing
import VigilKafka
@testable import VigilService

@Suite struct AuditHandOverTests {
    /// A writer whose writes wait for a go-ahead and fail on request.
    final class FakeWriter: Sendable {
        enum Result: Sendable { case commit, fence, fail }
        private let state = Mutex<(started: [Date], results: [Date: Result], gates: [Date: CheckedContinuation<Void, Never>], open: Set<Date>)>(([], [:], [:], []))

        /// Batches are told apart by `decidedAt`.
        func write(_ batch: AuditBatch) async throws {
            let result: Result = state.withLock { $0.started.append(batch.decidedAt); return $0.results[batch.decidedAt] ?? .commit }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let go = state.withLock { s -> Bool in
                    if s.open.contains(batch.decidedAt) { return true }
                    s.gates[batch.decidedAt] = c
                    return false
                }
                if go { c.resume() }
            }
            switch result {
            case .commit: return
            case .fence: throw ServiceError(.partitionFenced, "fenced")
            case .fail: throw ServiceError(.sinkFailed, "database gone")
            }
        }

        func plan(_ at: Date, _ result: Result) { state.withLock { $0.results[at] = result } }
        func release(_ at: Date) {
            let gate = state.withLock { s -> CheckedContinuation<Void, Never>? in
                s.open.insert(at)
                return s.gates.removeValue(forKey: at)
            }
            gate?.resume()
        }
        var started: [Date] { state.withLock { $0.started } }
    }

    func pending(_ n: Int) -> PendingWrite {
        PendingWrite(batch: AuditBatch(decidedAt: Date(timeIntervalSince1970: Double(n))), messages: [],
                     leases: [(KafkaTopicPartition(topic: "tx", partition: Int32(n)), UInt64(n))], started: .now, decided: .now)
    }

    func names(_ finished: [FinishedWrite]) -> [String] {
        finished.map { f in
            let n = Int(f.write.batch.decidedAt.timeIntervalSince1970)
            switch f.outcome {
            case .committed: return "\(n) committed"
            case .fenced: return "\(n) fenced"
            case .dropped: return "\(n) dropped"
            case .failed: return "\(n) failed"
            }
        }
    }

    @Test func batchesAreWrittenOneAtATimeInOrderAndCommitsAreReportedAsTheyHappen() async throws {
        let writer = FakeWriter()
        let reported = Mutex<[Int]>([])
        let handOver = AuditHandOver(write: { try await writer.write($0) }, committed: { pending, _ in
            reported.withLock { $0.append(Int(pending.batch.decidedAt.timeIntervalSince1970)) }
        })
        #expect(names(await handOver.submit(pending(1))).isEmpty)
        // The second hand-over waits for the first write: it is not started before that ends.
        let second = Task { await handOver.submit(pending(2)) }
        while writer.started.isEmpty { await Task.yield() }
        for _ in 0..<200 { await Task.yield() }  // room for a second write to start, were it allowed to
        #expect(writer.started == [Date(timeIntervalSince1970: 1)])
        writer.release(Date(timeIntervalSince1970: 1))
        #expect(names(await second.value) == ["1 committed"])
        #expect(reported.withLock { $0 } == [1])
        writer.release(Date(timeIntervalSince1970: 2))
        // A revocation waits for the write without taking its outcome from the loop.
        await handOver.settle()
        #expect(reported.withLock { $0 } == [1, 2])
        #expect(names(await handOver.drain()) == ["2 committed"])
        #expect(await handOver.drain().isEmpty)
        #expect(writer.started.map(\.timeIntervalSince1970) == [1, 2])
    }

    @Test func theBatchBehindAFencedOrFailedWriteIsDroppedUnwritten() async throws {
        let writer = FakeWriter()
        let handOver = AuditHandOver(write: { try await writer.write($0) })
        for n in 1...4 { writer.release(Date(timeIntervalSince1970: Double(n))) }
        writer.plan(Date(timeIntervalSince1970: 1), .fence)
        writer.plan(Date(timeIntervalSince1970: 3), .fail)
        _ = await handOver.submit(pending(1))
        let afterFence = await handOver.submit(pending(2))
        #expect(names(afterFence) == ["1 fenced", "2 dropped"])
        #expect(afterFence[1].write.leases.map(\.partition.partition) == [2])
        // The loop restored the partitions; the next batch is written again.
        #expect(names(await handOver.submit(pending(3))).isEmpty)
        #expect(names(await handOver.submit(pending(4))) == ["3 failed", "4 dropped"])
        #expect(writer.started.map(\.timeIntervalSince1970) == [1, 3])
        #expect(await handOver.drain().isEmpty)
    }
}
