// The group learner on the real broker and PostgreSQL, when the training topic or the
// registry changes under it: messages it cannot learn (not an example, or an example of
// another feature spec) become dead letters with their reason and learning goes on; an
// operator's promote mid-tenure starts the lineage again from the promoted version, at that
// version's own topic positions (a rollback learns again what the dropped versions had) or,
// for a version the learner never published, where the group's latest publication left the
// topic), its rehearsal memory read back from the examples before that point.
import Foundation
import Testing
import VigilEngine
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeLearnerLineageTests {
    /// One in-process instance learning `stream`'s labels, publishing every 100 labels learnt.
    struct Harness {
        let brokers: String
        let target: MigrationTarget
        let configuration: ServeConfiguration
        let stream: ServeReplayLearningTests.Stream
        let stop = StopSignal()
        let telemetry = ServiceTelemetry()
        var s: String { quoteIdentifier(target.schema) }

        /// Examples the learner's tenures read back into rehearsal memory, from /metrics.
        var recalled: Int {
            String(decoding: telemetry.exposition(), as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix("vigil_learner_recalled_examples_total ") }
                .flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) } ?? 0
        }

        init() async throws {
            brokers = try KafkaTestSupport.brokers()
            let topic = KafkaTestSupport.uniqueName("lineage-tx"), labelsTopic = KafkaTestSupport.uniqueName("lineage-labels")
            try KafkaTestSupport.createTopic(topic, partitions: 2, brokers: brokers)
            try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
            target = try ServeTestSupport.migratedSchema()
            stream = ServeReplayLearningTests.stream(topic: topic, labelsTopic: labelsTopic)
            _ = try await ServeTestSupport.seedModel(target, events: stream.events)
            var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
            c.labelsTopic = labelsTopic
            c.exitWhenIdle = nil
            c.batchSize = 100
            ServeLearnerGroupTests.learnerSettings(&c)
            c.trainer.guardMarginStandardErrors = 100
            c.trainer.reconstructionTolerance = 10
            configuration = c
            try ServeTestSupport.createTrainingTopic(c, brokers: brokers)
        }

        func serve() -> Task<PipelineSummary, any Error> {
            let c = configuration, stop = stop, telemetry = telemetry
            return Task { try await FraudPipeline(configuration: c, log: .silent, telemetry: telemetry).run(stop: stop) }
        }

        /// Starts serving once the instance is the learner and every event was decided.
        func decideEverything() async throws {
            try #require(try await ServeLearnerGroupTests.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).learner_lease") == 1 })
            try await ServeTestSupport.produce(stream.events, brokers: brokers)
            try #require(try await ServeLearnerGroupTests.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= stream.events.count })
        }

        /// Versions published with positions: (version, parent, labels learnt, next offset).
        func published() throws -> [ServeLearnerGroupTests.Published] { try ServeLearnerGroupTests.published(target.schema) }
        var versions: String { (try? published()).map { "\($0)" } ?? "(versions unreadable)" }
    }

    @Test func messagesTheLearnerCannotLearnAreDeadLetteredAndLearningGoesOn() async throws {
        let h = try await Harness()
        defer { ServeTestSupport.drop(h.target) }
        let serving = h.serve()
        defer { h.stop.stop() }
        try await h.decideEverything()
        let topic = h.configuration.learner.trainingTopic
        // Poison first: bytes that are no example, and an example of a spec with one dense feature.
        let alien = TrainingExample(labelID: 999_999, eventID: "alien", isFraud: true, labelledAtMillis: 1, modelVersion: 1, dense: [1], sparse: [])
        try await ServeTestSupport.produce([
            KafkaProducerMessage(topic: topic, key: Array("junk".utf8), value: Array("not an example".utf8)),
            KafkaProducerMessage(topic: topic, key: Array("alien".utf8), value: alien.encoded()),
        ], brokers: h.brokers)
        try await ServeTestSupport.produce(h.stream.labels, brokers: h.brokers)
        let learnt = try await ServeLearnerGroupTests.waitFor { try h.published().count >= 3 }
        let letters = try ServeTestSupport.rows("""
            SELECT kafka_offset, reason_code, reason FROM \(h.s).dead_letters WHERE topic = $1 ORDER BY kafka_offset
            """, [.text(topic)]).map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)) }
        h.stop.stop()
        _ = try await serving.value
        #expect(learnt, "\(h.versions)")
        try #require(letters.count == 2, "\(letters)")
        #expect(letters[0].0 == 0 && letters[0].1 == "invalid_example")
        #expect(letters[1].0 == 1 && letters[1].1 == "example_shape_mismatch" && letters[1].2.contains("1 dense"), "\(letters[1])")
        // The versions' positions count the two skipped messages: every label after them learnt once.
        for v in try h.published() { #expect(v.nextOffset == 2 + Int64(v.labelsLearnt), "\(h.versions)") }
    }

    @Test func anOperatorsPromoteStartsTheLineageAgainFromThePromotedVersion() async throws {
        let h = try await Harness()
        defer { ServeTestSupport.drop(h.target) }
        let serving = h.serve()
        defer { h.stop.stop() }
        try await h.decideEverything()
        let labels = h.stream.labels, n = labels.count
        let connection = PostgresConnection(configuration: try PostgresTestDatabase.configuration())
        defer { Task { await connection.close() } }
        let catalog = ModelCatalog(connection: connection, schema: h.target.schema)

        // Two publications or more, then a rollback to the first of them.
        try await ServeTestSupport.produce(Array(labels[..<(n / 2)]), brokers: h.brokers)
        try #require(try await ServeLearnerGroupTests.waitFor { try h.published().count >= 2 }, "\(h.versions)")
        try await Task.sleep(for: .milliseconds(500))
        let before = try h.published()
        let first = before[0]
        try await catalog.promote(first.version)
        // The learner learns again from where that version left the topic: its next version is
        // a child of it, `n` examples past its positions.
        let relearnt = try await ServeLearnerGroupTests.waitFor { try h.published().contains { $0.parent == first.version && $0.version > before.last!.version } }
        try #require(relearnt, "\(h.versions)")
        let child = try #require(try h.published().first { $0.parent == first.version && $0.version > before.last!.version })
        #expect(child.nextOffset == first.nextOffset + Int64(child.labelsLearnt), "\(h.versions)")
        // The new tenure read back what the lineage had learnt into its rehearsal memory.
        #expect(h.recalled == Int(first.nextOffset), "recalled \(h.recalled), \(h.versions)")

        // The seeded version 1 has no positions: promoted, it resumes where the latest publication left the topic.
        try await Task.sleep(for: .milliseconds(500))
        let latest = try #require(try h.published().last)
        try await catalog.promote(1)
        try await ServeTestSupport.produce(Array(labels[(n / 2)...]), brokers: h.brokers)
        let resumed = try await ServeLearnerGroupTests.waitFor { try h.published().contains { $0.parent == 1 && $0.version > latest.version } }
        h.stop.stop()
        _ = try await serving.value
        try #require(resumed, "\(h.versions)")
        let fromSeed = try #require(try h.published().first { $0.parent == 1 && $0.version > latest.version })
        let after = try h.published().filter { $0.version > latest.version && $0.version < fromSeed.version }
        // Versions published between `latest` and the promote (the learner went on) are the latest then.
        let resumedAt = (after.last ?? latest).nextOffset
        #expect(fromSeed.nextOffset == resumedAt + Int64(fromSeed.labelsLearnt), "\(h.versions)")
        #expect(h.recalled == Int(first.nextOffset + resumedAt), "recalled \(h.recalled), \(h.versions)")
    }
}
