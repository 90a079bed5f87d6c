// The fault handling of `vigil serve` without I/O: offset continuity rules and its state
// machine, resolving an unknown commit outcome, retry backoff, the entity budget's shares,
// database session limits, readiness when degraded, and the JSON log lines.
import Foundation
import Logging
import Testing
import VigilFeatures
@testable import VigilKafka
@testable import VigilService
import VigilPostgres

private let p0 = KafkaTopicPartition(topic: "tx", partition: 0)
private let p1 = KafkaTopicPartition(topic: "tx", partition: 1)

@Suite struct OffsetContinuityTests {
    @Test func aJumpPastTheStoredOffsetIsACandidateGap() {
        typealias R = OffsetContinuityRules
        // Fresh state from the log's beginning, stored 10: the log now starts at 15.
        #expect(R.undecidedJump(offsets: [15, 16], position: nil, committedNext: 10)! == (0, 10))
        // Replay from a snapshot at 5 that jumps from below the stored offset to past it.
        #expect(R.undecidedJump(offsets: [5, 6, 7, 40], position: 5, committedNext: 10)! == (3, 10))
        // Between batches (position == stored): the next batch starts past it.
        #expect(R.undecidedJump(offsets: [25, 26], position: 20, committedNext: 20)! == (0, 20))
        // A jump inside a batch, after the stored offset.
        #expect(R.undecidedJump(offsets: [20, 21, 30], position: 20, committedNext: 20)! == (2, 22))
        // Continuous streams, replays and never-committed partitions are no candidates.
        #expect(R.undecidedJump(offsets: [20, 21, 22], position: 20, committedNext: 20) == nil)
        #expect(R.undecidedJump(offsets: [0, 1, 2, 3], position: nil, committedNext: 2) == nil)
        #expect(R.undecidedJump(offsets: [3, 7, 8], position: 3, committedNext: 9) == nil)  // jumps below the stored offset: state only
        #expect(R.undecidedJump(offsets: [50, 51], position: nil, committedNext: nil) == nil)
        #expect(R.undecidedJump(offsets: [Int64](), position: 3, committedNext: 3) == nil)
    }

    @Test func onlyALogStartPastTheExpectedOffsetIsARetentionGap() {
        // A commit marker at 20 makes the stream skip it: the log still starts below.
        #expect(!OffsetContinuityRules.isRetentionGap(expected: 20, logStart: 0))
        #expect(!OffsetContinuityRules.isRetentionGap(expected: 20, logStart: 20))
        #expect(OffsetContinuityRules.isRetentionGap(expected: 20, logStart: 21))
        #expect(OffsetContinuityRules.isPastLogEnd(committedNext: 21, logEnd: 20))
        #expect(!OffsetContinuityRules.isPastLogEnd(committedNext: 20, logEnd: 20))
    }

    @Test func thePastTheEndCheckWaitsForTheGraceAndNeedsTwoShortAnswers() {
        var m = OffsetContinuity.StateMachine(grace: .seconds(5), recheck: .seconds(1))
        let t = ContinuousClock.now
        m.assigned(p0, committedNext: 500, at: t)
        m.assigned(p1, committedNext: nil, at: t)
        #expect(m.due(at: t + .seconds(4)).isEmpty)
        #expect(m.due(at: t + .seconds(5)).map(\.0) == [p0])
        #expect(m.observed(p0, logEnd: 20, at: t + .seconds(5)) == .suspect)
        #expect(m.due(at: t + .milliseconds(5_500)).isEmpty)  // rechecked a second later
        #expect(m.observed(p0, logEnd: 20, at: t + .seconds(6)) == .pastLogEnd(committedNext: 500, logEnd: 20))
        #expect(m.due(at: t + .seconds(60)).isEmpty)
        m.halt(p0, reason: "past the end")
        #expect(m.isHalted(p0) && m.halted == [p0: "past the end"])
        m.removed([p0])
        #expect(!m.isHalted(p0))
    }

    @Test func aDeliveryReachingTheStoredOffsetOrALongEnoughLogVerifies() {
        var m = OffsetContinuity.StateMachine(grace: .zero, recheck: .zero)
        let t = ContinuousClock.now
        m.assigned(p0, committedNext: 100, at: t)
        m.delivered(p0, through: 98)
        #expect(m.due(at: t).count == 1)
        m.delivered(p0, through: 99)
        #expect(m.due(at: t).isEmpty)
        m.assigned(p1, committedNext: 100, at: t)
        #expect(m.observed(p1, logEnd: 20, at: t) == .suspect)
        #expect(m.observed(p1, logEnd: 100, at: t) == .fine)  // the stale answer was just stale
        #expect(m.due(at: t + .seconds(9)).isEmpty)
    }
}

@Suite struct DatabaseFaultTests {
    let advances = [AuditBatch.OffsetAdvance(partition: p0, expected: 10, next: 15), AuditBatch.OffsetAdvance(partition: p1, expected: nil, next: 4)]

    @Test func anUnknownCommitIsResolvedFromTheStoredOffsets() {
        #expect(CommitResolution.resolve(advances, stored: [p0: 15, p1: 4]) == .committed)
        #expect(CommitResolution.resolve(advances, stored: [p0: 10]) == .notCommitted)
        #expect(CommitResolution.resolve(advances, stored: [p0: 22, p1: 4]) == .moved)
        #expect(CommitResolution.resolve(advances, stored: [p0: 10, p1: 9]) == .moved)
    }

    @Test func backoffDoublesToItsCapWithJitterInTheUpperHalf() {
        let b = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(2))
        #expect(b.cap(afterAttempt: 1) == .milliseconds(100))
        #expect(b.cap(afterAttempt: 3) == .milliseconds(400))
        #expect(b.cap(afterAttempt: 30) == .seconds(2))
        #expect(b.wait(afterAttempt: 30, unit: 0) == .seconds(1))
        #expect(b.wait(afterAttempt: 30, unit: 1) == .seconds(2))
        #expect(b.wait(afterAttempt: 2, unit: 0.5) == .milliseconds(150))
    }

    @Test func transientErrorsAreRetriedAndOthersAreNot() {
        #expect(DatabaseFaults.isTransient(PostgresErrorSamples.connectionLost))
        #expect(DatabaseFaults.isTransient(PostgresErrorSamples.adminShutdown))
        #expect(DatabaseFaults.isTransient(PostgresErrorSamples.statementTimeout))
        #expect(DatabaseFaults.isTransient(PostgresErrorSamples.lockTimeout))
        #expect(!DatabaseFaults.isTransient(PostgresErrorSamples.uniqueViolation))
        #expect(!DatabaseFaults.isTransient(ServiceError(.partitionFenced, "x")))
    }

    @Test func sessionLimitsAreStartupOptionsAndOverridable() throws {
        var c = ServeConfiguration()
        c.databaseURL = "postgresql://u@h:5/db"
        #expect(c.sessionOptions == "-c statement_timeout=30000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=30000")
        let pg = try c.postgresConfiguration(suffix: "-models")
        #expect(pg.keywords["application_name"] == "vigil-serve-models")
        #expect(pg.keywords["options"] == c.sessionOptions)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID()).json")
        try Data(#"{"db_statement_timeout_ms":0,"db_lock_timeout_ms":1500,"offset_anomaly_policy":"skip","application_name":"x"}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try c.apply(file: file.path)
        #expect(c.sessionOptions == "-c lock_timeout=1500 -c idle_in_transaction_session_timeout=30000")
        #expect(c.offsetAnomalyPolicy == .skip && c.applicationName == "x")
        try Data(#"{"offset_anomaly_policy":"ignore"}"#.utf8).write(to: file)
        #expect(throws: ServiceError.self) { try c.apply(file: file.path) }
    }
}

@Suite struct StateBudgetTests {
    @Test func eachPartitionGetsAnEqualShareOfTheProcessBudget() {
        let budget = StateBudget(budget: FeatureStateConfiguration(maxCards: 1_000, expectedCards: 400, maxMerchants: 300, maxTerminals: 7))
        #expect(budget.share.maxCards == 1_000)
        budget.topicPartitions(4)
        #expect(budget.share.maxCards == 250 && budget.share.maxMerchants == 75 && budget.share.expectedCards == 100)
        #expect(budget.share.maxTerminals == 1)  // never zero
        #expect(budget.share.maxCards * budget.topicPartitionCount <= 1_000)
    }
}

@Suite struct DegradedReadinessTests {
    @Test func aRefusedModelAndHaltedPartitionsMakeReadinessSayWhy() {
        var s = HealthState()
        s.lastLoopAt = .now
        s.modelsLoaded = true
        s.ownedPartitions = 1
        s.databaseReachable = true
        #expect(s.readiness(now: .now, stallLimit: .seconds(60)).ok)
        s.modelProblem = "live version 7 cannot be used: bad checksum; scoring with version 6"
        s.haltedPartitions = ["tx[0]: retention gap: stored offset 10, the log now starts at 50"]
        let verdict = s.readiness(now: .now, stallLimit: .seconds(60))
        #expect(!verdict.ok)
        #expect(verdict.body.contains("degraded: live version 7 cannot be used"))
        #expect(verdict.body.contains("halted: tx[0]: retention gap"))
        #expect(s.liveness(now: .now, stallLimit: .seconds(60)).ok)  // degraded is not dead
    }
}

@Suite struct JSONLogTests {
    @Test func linesAreJSONWithNumbersKeptAsNumbers() throws {
        let lines = LineBox()
        let log = ServiceLog(minimumLevel: .info, sink: { lines.append($0) })
        log.info("partition assigned", ["partition": "tx[0]", "stored_offset": .int(42), "ratio": .double(0.5)])
        log.debug("dropped")
        log.kafkaLogHandler(KafkaLogMessage(level: 3, facility: "FAIL", message: "Connect to 127.0.0.1:1 failed", client: "rdkafka#consumer-1"))
        log.kafkaLogHandler(KafkaLogMessage(level: 7, facility: "FETCH", message: "debug noise", client: "c"))
        let all = lines.all
        #expect(all.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(all[0].utf8)) as! [String: Any]
        #expect(first["msg"] as? String == "partition assigned" && first["level"] as? String == "info")
        #expect(first["stored_offset"] as? Int == 42 && first["ratio"] as? Double == 0.5 && first["partition"] as? String == "tx[0]")
        #expect((first["ts"] as? String)?.hasSuffix("Z") == true)
        let kafka = try JSONSerialization.jsonObject(with: Data(all[1].utf8)) as! [String: Any]
        #expect(kafka["level"] as? String == "error" && kafka["source"] as? String == "librdkafka" && kafka["facility"] as? String == "FAIL")
        #expect(ServiceLog(minimumLevel: .warning).librdkafkaLogLevel == 4)
        #expect(ServiceLog.level(syslog: 5) == .notice && ServiceLog.level(syslog: 0) == .error)
    }
}

final class LineBox: @unchecked Sendable {  // guarded by `lock`; test helper only
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

enum PostgresErrorSamples {
    static let connectionLost = PostgresError(.connectionLost, reason: "server closed the connection unexpectedly")
    static let adminShutdown = PostgresError(.server, sqlState: "57P01", reason: "terminating connection due to administrator command")
    static let statementTimeout = PostgresError(.queryCancelled, sqlState: "57014", reason: "canceling statement due to statement timeout")
    static let lockTimeout = PostgresError(.server, sqlState: "55P03", reason: "canceling statement due to lock timeout")
    static let uniqueViolation = PostgresError(.server, sqlState: "23505", reason: "duplicate key")
}
