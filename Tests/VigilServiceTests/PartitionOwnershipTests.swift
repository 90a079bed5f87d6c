// The partition ownership state machine, without Kafka or PostgreSQL.
import Testing
import VigilFeatures
import VigilKafka
@testable import VigilService

@Suite struct PartitionOwnershipTests {
    typealias Machine = PartitionOwnership.StateMachine
    let p0 = KafkaTopicPartition(topic: "tx", partition: 0)
    let p1 = KafkaTopicPartition(topic: "tx", partition: 1)

    func restoration(committed: Int64?, through: Int64?) throws -> PartitionRestoration {
        PartitionRestoration(committedNext: committed, extractor: try FeatureExtractor(spec: .standard), stateThrough: through)
    }

    @Test func freshPartitionStartsAtTheBeginningAndDecidesEverything() throws {
        var m = Machine()
        #expect(m.assigned(p0, try restoration(committed: nil, through: nil)) == .beginning)
        let lease = try #require(m.checkOut([p0])[p0])
        #expect(lease.replayUntil == 0)
        #expect(lease.committedNext == nil)
    }

    @Test func startsAtTheSnapshotAndReplaysUpToTheStoredOffset() throws {
        var m = Machine()
        #expect(m.assigned(p0, try restoration(committed: 500, through: 300)) == .at(300))
        let lease = try #require(m.checkOut([p0])[p0])
        #expect(lease.replayUntil == 500)
        #expect(lease.position == 300)
        #expect(lease.committedNext == 500)
    }

    @Test func withoutASnapshotAStoredOffsetIsRebuiltFromTheBeginning() throws {
        var m = Machine()
        #expect(m.assigned(p0, try restoration(committed: 500, through: nil)) == .beginning)
        #expect(m.checkOut([p0])[p0]?.replayUntil == 500)
    }

    @Test func aSnapshotAheadOfTheStoredOffsetIsIgnored() throws {
        var m = Machine()
        #expect(m.assigned(p0, try restoration(committed: 100, through: 200)) == .beginning)
        #expect(m.checkOut([p0])[p0]?.position == nil)
    }

    @Test func onlyOwnedIdlePartitionsAreLent() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: nil, through: nil))
        #expect(Set(m.checkOut([p0, p1]).keys) == [p0])
        // Already in flight: not lent twice.
        #expect(m.checkOut([p0]).isEmpty)
    }

    @Test func committedLeasesComeBackWithTheirProgress() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: nil, through: nil))
        var lease = try #require(m.checkOut([p0])[p0])
        lease.committedNext = 42
        lease.position = 42
        #expect(m.checkIn([lease], committed: true).isEmpty)
        #expect(m.checkOut([p0])[p0]?.committedNext == 42)
    }

    @Test func aRolledBackBatchSendsItsPartitionsBackToTheDatabase() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: 10, through: 10))
        _ = m.assigned(p1, try restoration(committed: 20, through: 20))
        let leases = m.checkOut([p0, p1])
        #expect(m.checkIn(Array(leases.values), committed: false) == [p0, p1])
        #expect(m.owned.isEmpty)
        // Restored again from what is stored.
        #expect(m.assigned(p0, try restoration(committed: 10, through: 10)) == .at(10))
        #expect(m.owned == [p0])
    }

    @Test func aLeaseFromBeforeARevocationIsDiscarded() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: 5, through: 5))
        let stale = try #require(m.checkOut([p0])[p0])
        #expect(m.revoked([p0]).isEmpty)  // in flight: nothing idle to snapshot
        _ = m.assigned(p0, try restoration(committed: 9, through: 9))
        #expect(m.checkIn([stale], committed: true).isEmpty)
        #expect(m.checkOut([p0])[p0]?.committedNext == 9)
    }

    @Test func revocationReturnsIdleStateForSnapshotsAndLossReturnsNothing() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: 5, through: 5))
        _ = m.assigned(p1, try restoration(committed: 7, through: 7))
        #expect(m.revoked([p0]).map(\.partition) == [p0])
        m.lost([p1])
        #expect(m.owned.isEmpty)
        #expect(m.checkOut([p0, p1]).isEmpty)
    }

    @Test func aWriteThatFailedTakesBackOnlyTheAssignmentItWasDecidedIn() throws {
        var m = Machine()
        _ = m.assigned(p0, try restoration(committed: 10, through: 10))
        _ = m.assigned(p1, try restoration(committed: 20, through: 20))
        // Both decided and checked in (write-behind): at rest, their state ahead of the database.
        let leases = m.checkOut([p0, p1])
        #expect(m.checkIn(Array(leases.values), committed: true).isEmpty)
        let written = leases.values.map { ($0.partition, $0.generation) }
        // p1 was revoked and assigned again meanwhile: that assignment is left alone.
        _ = m.revoked([p1])
        _ = m.assigned(p1, try restoration(committed: 20, through: 20))
        #expect(m.writeFailed(written) == [p0])
        #expect(m.owned == [p1])
        // Taken back while lent to the next batch: dropped too, and its late check-in ignored.
        _ = m.assigned(p0, try restoration(committed: 10, through: 10))
        let lent = try #require(m.checkOut([p0])[p0])
        #expect(m.writeFailed([(p0, lent.generation)]) == [p0])
        #expect(m.checkIn([lent], committed: true).isEmpty)
        #expect(m.owned == [p1])
        // A second report of the same write changes nothing.
        #expect(m.writeFailed(written).isEmpty)
    }
}
