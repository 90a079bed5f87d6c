// What a group learns is what one instance learns: the same labelled stream served by three
// instances (each joining the labels of its own partitions' events, one learner for all) and
// by one instance, from the same seeded model, ends in final models that detect fraud equally
// well on later events neither learnt from, within the sampling error of that figure. Judged
// on held-out events rather than prequentially: served scores depend on when each
// publication happened to go live, which wall-clock timing decides, not what was learnt.
import Foundation
import Testing
import VigilEngine
import VigilFeatures
import VigilKafka
import VigilPostgres
import VigilReplay
import VigilService
import VigilSimulator

@Suite struct ServeLearnerGroupQualityTests {
    /// Served transactions, their labels (every fraud, every third legitimate one, stamped
    /// after the last of them), and the served plus later transactions with their truth.
    struct Stream {
        var events: [KafkaProducerMessage] = []
        var labels: [KafkaProducerMessage] = []
        var evaluation = ReplayInput()
    }

    static func stream(served: Int, heldOut: Int, topic: String, labelsTopic: String) -> Stream {
        var configuration = SimulatorConfiguration()
        configuration.seed = 23
        configuration.customers = 500
        configuration.terminals = 1_000
        configuration.merchants = 300
        var s = Stream()
        let decoder = EventDecoder()
        var last: Int64 = 0
        for record in TransactionSimulator(configuration: configuration, maxTransactions: served + heldOut) {
            guard case .transaction(let t) = record else { continue }
            let value = Array(t.json(truth: false).utf8)
            guard let event = try? decoder.decode(value) else { continue }
            s.evaluation.events.append(event)
            s.evaluation.truth.append(t.scenario.isFraud ? .fraud : .legit)
            if s.evaluation.events.count <= served {
                s.events.append(KafkaProducerMessage(topic: topic, key: Array(t.cardID.utf8), value: value))
                last = t.timestampMillis
            }
        }
        for (k, event) in s.evaluation.events.prefix(served).enumerated() {
            let fraud = s.evaluation.truth[k] == .fraud
            guard fraud || k % 3 == 0 else { continue }
            let line = #"{"event_id":"\#(event.eventID)","label":"\#(fraud ? "fraud" : "legit")","ts":\#(last + 60_000 + Int64(s.labels.count))}"#
            s.labels.append(KafkaProducerMessage(topic: labelsTopic, key: Array(event.eventID.utf8), value: Array(line.utf8)))
        }
        return s
    }

    @Test func threeInstancesLearnAModelAsGoodAsOne() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let served = 6_000
        let stream = Self.stream(served: served, heldOut: 4_000, topic: "", labelsTopic: "")
        let one = try await Self.learn(stream, instances: 1, brokers: brokers)
        let three = try await Self.learn(stream, instances: 3, brokers: brokers)
        let seeded = try HeldOutEvaluation.measure(one.seeded, input: stream.evaluation, from: served, spec: ServeTestSupport.spec)
        let byOne = try HeldOutEvaluation.measure(one.final, input: stream.evaluation, from: served, spec: ServeTestSupport.spec)
        let byThree = try HeldOutEvaluation.measure(three.final, input: stream.evaluation, from: served, spec: ServeTestSupport.spec)
        print("held out: seeded v1 \(seeded); one instance v\(one.final.version) \(byOne); three instances v\(three.final.version) \(byThree)")
        // Every label sent once, and learnt by the final version up to the last check due (one per 100).
        let due = stream.labels.count / 100 * 100
        #expect(one.sent == stream.labels.count && three.sent == stream.labels.count, "sent \(one.sent) and \(three.sent) of \(stream.labels.count)")
        #expect(one.learnt == due && three.learnt == due, "learnt \(one.learnt) and \(three.learnt) of \(due)")
        let a1 = try #require(byOne.auprc), a3 = try #require(byThree.auprc), se = try #require(byOne.standardError)
        // Learning moved both far from where they started (so the comparison is not of two seeds)...
        let a0 = try #require(seeded.auprc)
        #expect(a1 > a0 + 4 * se && a3 > a0 + 4 * se, "seeded \(a0), one instance \(a1), three \(a3)")
        // ...and to the same place.
        #expect(abs(a3 - a1) <= 2 * se, "three instances \(a3), one \(a1), tolerance 2 × SE = \(2 * se)")
    }

    /// Serves `stream` with `instances` members of one group until every label was learnt and
    /// published; returns the seeded and the final live model sets, the examples sent to the
    /// one-partition training topic and how many of them the live version has learnt.
    static func learn(_ stream: Stream, instances: Int, brokers: String) async throws -> (seeded: ModelSet, final: ModelSet, sent: Int, learnt: Int) {
        let topic = KafkaTestSupport.uniqueName("group-quality-tx"), labelsTopic = KafkaTestSupport.uniqueName("group-quality-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 6, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        let events = stream.events.map { KafkaProducerMessage(topic: topic, key: $0.key, value: $0.value) }
        let labels = stream.labels.map { KafkaProducerMessage(topic: labelsTopic, key: $0.key, value: $0.value) }
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        #expect(try await ServeTestSupport.seedModel(target, events: events) == 1)
        let s = quoteIdentifier(target.schema)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.labelsTopic = labelsTopic
        c.exitWhenIdle = nil
        c.batchSize = 100
        ServeLearnerGroupTests.learnerSettings(&c)
        // Every check promotes: the figures compared are what was learnt, not which checks a
        // guard on a few hundred labels happened to pass in each run's order.
        c.trainer.guardMarginStandardErrors = 100
        c.trainer.reconstructionTolerance = 10
        try ServeTestSupport.createTrainingTopic(c, brokers: brokers)
        let stop = StopSignal()
        let members = (0..<instances).map { i -> Task<PipelineSummary, any Error> in
            var m = c
            m.memberName = "member-\(i)"
            return Task { try await FraudPipeline(configuration: m, log: .silent).run(stop: stop) }
        }
        defer { stop.stop() }
        // Events scored before an instance's learning started cannot be joined: start the
        // stream once the group has a learner.
        try #require(try await ServeLearnerGroupTests.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).learner_lease") == 1 })
        try await Task.sleep(for: .seconds(3))
        try await ServeTestSupport.produce(events, brokers: brokers)
        try #require(try await ServeLearnerGroupTests.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= events.count })
        try await ServeTestSupport.produce(labels, brokers: brokers)
        // A publication at every 100th example: the last one due covers all but the remainder.
        let due = Int64(labels.count / 100 * 100)
        func learnt() throws -> Int64 {
            try ServeTestSupport.scalar("""
                SELECT coalesce(max(p.next_offset), 0) FROM \(s).learner_positions p
                JOIN \(s).models m ON m.version = p.version WHERE m.promoted_at IS NOT NULL AND m.retired_at IS NULL
                """)
        }
        let published = try await ServeLearnerGroupTests.waitFor(tries: 1_800) { try learnt() >= due }
        stop.stop()
        for member in members { _ = try await member.value }
        let reached = try learnt()
        try #require(published, "the live version learnt \(reached) of \(due) examples: \(ServeLearnerGroupTests.describe(target.schema))")
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        let store = ModelStore(connection: connection, schema: target.schema)
        let seeded = try #require(try await store.load(version: 1))
        let final = try #require(try await store.loadPromoted())
        await connection.close()
        let sent = try await ServeLearnerGroupTests.trainingExamples(c.learner.trainingTopic, brokers: brokers).count
        return (seeded, final, sent, Int(try learnt()))
    }
}
