// The learner role's state machine and the ledger of the training topic, without I/O.
import Testing
@testable import VigilService

@Suite struct LearnerRoleTests {
    let t0 = ContinuousClock.now

    @Test func aGrantedLeaseStartsOneTenureAndRenewalsKeepIt() {
        var role = LearnerRole(ttl: .seconds(6))
        #expect(role.claimed(nil, at: t0) == .none)
        #expect(role.claimed(4, at: t0) == .startLearning(token: 4))
        #expect(role.claimed(4, at: t0 + .seconds(2)) == .none)
        #expect(role.token == 4)
        #expect(role.tenures == 1)
    }

    @Test func anotherHolderOrANewTokenEndsTheTenure() {
        var role = LearnerRole(ttl: .seconds(6))
        _ = role.claimed(4, at: t0)
        #expect(role.claimed(nil, at: t0 + .seconds(2)) == .stopLearning(token: 4, reason: "another member holds the learner lease"))
        #expect(role.token == nil)
        _ = role.claimed(5, at: t0 + .seconds(4))
        // The lease expired and this member took it again: a new tenure from the live model.
        #expect(role.claimed(7, at: t0 + .seconds(20)) == .restartLearning(old: 5, new: 7))
        #expect(role.tenures == 3)
    }

    @Test func failedClaimsStopTheLearnerOnlyOnceTheTTLHasPassed() {
        var role = LearnerRole(ttl: .seconds(6))
        #expect(role.claimFailed(at: t0) == .none)
        _ = role.claimed(1, at: t0)
        #expect(role.claimFailed(at: t0 + .seconds(5)) == .none)
        #expect(role.token == 1)
        guard case .stopLearning(token: 1, _) = role.claimFailed(at: t0 + .seconds(6)) else {
            Issue.record("a learner that could not renew within the ttl kept learning")
            return
        }
        #expect(role.token == nil)
    }

    @Test func aFencedPublicationEndsOnlyItsOwnTenure() {
        var role = LearnerRole(ttl: .seconds(6))
        _ = role.claimed(3, at: t0)
        #expect(role.fenced(2) == .none)
        #expect(role.token == 3)
        guard case .stopLearning(token: 3, _) = role.fenced(3) else {
            Issue.record("a fenced learner kept its role")
            return
        }
        #expect(role.fenced(3) == .none)
    }

    @Test func stoppingEndsTheTenureAndIgnoresLaterGrants() {
        var role = LearnerRole(ttl: .seconds(6))
        _ = role.claimed(3, at: t0)
        guard case .stopLearning(token: 3, _) = role.stop() else {
            Issue.record("stop did not end the tenure")
            return
        }
        #expect(role.claimed(3, at: t0) == .none)
        #expect(role.state == .stopped)
    }
}

@Suite struct ExampleLedgerTests {
    @Test func positionsCoverExactlyTheLearntExamplesAndTheSkipsAfterThem() {
        var ledger = ExampleLedger(start: [0: 10, 1: 0])
        ledger.take(labelID: 1, partition: 0, offset: 10)
        ledger.take(labelID: 2, partition: 1, offset: 0)
        ledger.skip(partition: 0, offset: 11)  // a duplicate or a damaged message
        ledger.take(labelID: 3, partition: 0, offset: 12)
        #expect(ledger.positions(afterLearning: 0) == [0: 10, 1: 0])
        #expect(ledger.positions(afterLearning: 1) == [0: 11, 1: 0])
        #expect(ledger.positions(afterLearning: 2) == [0: 12, 1: 1])
        #expect(ledger.positions(afterLearning: 3) == [0: 13, 1: 1])
        #expect(ledger.positions(afterLearning: 99) == [0: 13, 1: 1])
    }

    @Test func aPublicationFoldsWhatItCoversIntoTheBaseline() {
        var ledger = ExampleLedger(start: [0: 0])
        for i in 0..<5 { ledger.take(labelID: Int64(i), partition: 0, offset: Int64(i)) }
        ledger.published(afterLearning: 3)
        #expect(ledger.baseline == [0: 3])
        #expect(ledger.unpublished == 2)
        #expect(ledger.positions(afterLearning: 3) == [0: 3])
        #expect(ledger.positions(afterLearning: 4) == [0: 4])
        ledger.published(afterLearning: 2)  // older than the last: nothing changes
        #expect(ledger.baseline == [0: 3])
        ledger.published(afterLearning: 5)
        #expect(ledger.baseline == [0: 5] && ledger.unpublished == 0)
    }

    @Test func duplicatesAreRecognisedWithinTheMemory() {
        var ledger = ExampleLedger(start: [:], memory: 2)
        ledger.take(labelID: 7, partition: 0, offset: 0)
        #expect(ledger.hasTaken(labelID: 7))
        #expect(!ledger.hasTaken(labelID: 8))
        ledger.take(labelID: 8, partition: 0, offset: 1)
        ledger.take(labelID: 9, partition: 0, offset: 2)
        // The oldest id left the bounded memory.
        #expect(!ledger.hasTaken(labelID: 7))
        #expect(ledger.hasTaken(labelID: 8) && ledger.hasTaken(labelID: 9))
    }
}
