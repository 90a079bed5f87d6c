// Learning across a consumer group of three `vigil serve` instances on the real broker and
// PostgreSQL: each instance joins the labels of the events it scored and sends the examples
// to the training topic; one instance, the holder of the learner lease, learns them all.
// Every label is sent exactly once whatever instance scored its event, every published
// version records how far into the topic it learnt, and when the learner is paused (SIGSTOP)
// or killed (SIGKILL) another instance takes the role, resumes the topic where the live
// version left it, and publishes on from it; the paused one's token is fenced.
import Foundation
import Glibc
import Testing
import VigilKafka
import VigilPostgres
import VigilService

@Suite struct ServeLearnerGroupTests {
    /// One published version as the registry and `learner_positions` hold it.
    struct Published: CustomStringConvertible {
        var version: Int64
        var parent: Int64?
        var token: Int64
        var labelsLearnt: Int
        var nextOffset: Int64
        var description: String { "v\(version)(parent \(parent.map(String.init) ?? "-"), token \(token), learnt \(labelsLearnt), next \(nextOffset))" }
    }

    static func published(_ schema: String) throws -> [Published] {
        let s = quoteIdentifier(schema)
        return try ServeTestSupport.rows("""
            SELECT m.version, m.parent_version, p.learner_token,
                   (m.metrics->>'labelled_examples')::bigint, p.next_offset
            FROM \(s).models m JOIN \(s).learner_positions p ON p.version = m.version
            ORDER BY m.version
            """).map { row in
            Published(version: try row.decode(0), parent: try row.decode(1), token: try row.decode(2),
                      labelsLearnt: Int(try row.decode(3, as: Int64.self)), nextOffset: try row.decode(4))
        }
    }

    /// One lineage: each version's parent is the version before it, tokens never go back (a
    /// fenced learner published nothing after its successor), and within a token a version
    /// that learnt n examples of its tenure is n examples past where the tenure started (the
    /// live version's positions): every example learnt once by the lineage.
    static func expectOneLineage(_ versions: [Published]) {
        var parent: Int64 = 1, token: Int64 = 0
        var tenureStart: Int64 = 0, previousNext: Int64 = 0
        for v in versions {
            #expect(v.parent == parent, "\(versions)")
            #expect(v.token >= token, "\(versions)")
            if v.token != token {
                tenureStart = previousNext
                token = v.token
            }
            #expect(v.nextOffset == tenureStart + Int64(v.labelsLearnt), "\(versions)")
            parent = v.version
            previousNext = v.nextOffset
        }
    }

    /// The published versions, for failure messages.
    static func describe(_ schema: String) -> Comment {
        Comment(rawValue: (try? published(schema)).map { "\($0)" } ?? "(versions unreadable)")
    }

    /// The examples in the (one-partition) training topic: how many, and their distinct event ids.
    static func trainingExamples(_ topic: String, brokers: String) async throws -> (count: Int, events: Set<String>) {
        let consumer = try KafkaConsumer(configuration: KafkaTestSupport.consumerConfiguration(brokers: brokers, group: KafkaTestSupport.uniqueName("count")))
        try await consumer.assign([KafkaTopicPartition(topic: topic, partition: 0): .beginning])
        var count = 0, events = Set<String>(), quiet = 0
        while quiet < 5 {
            let messages = try await consumer.poll(maxMessages: 5_000, timeout: .milliseconds(200))
            quiet = messages.isEmpty ? quiet + 1 : 0
            for message in messages {
                count += 1
                events.insert(String(decoding: message.key ?? [], as: UTF8.self))
            }
        }
        try? await consumer.close()
        return (count, events)
    }

    /// For each model version the instances served: how long from the first instance scoring
    /// with it (or a later one) to all of them doing so, sampled from their metrics every 20 ms.
    static func versionSpread(_ instances: [ServiceTelemetry], until stop: StopSignal) async -> [Int64: Duration] {
        let clock = ContinuousClock()
        var firstSeen: [Int64: ContinuousClock.Instant] = [:], spread: [Int64: Duration] = [:]
        while !stop.isStopped {
            let versions = instances.map { t in
                String(decoding: t.exposition(), as: UTF8.self).split(separator: "\n")
                    .first { $0.hasPrefix("vigil_model_version ") }.flatMap { Double($0.split(separator: " ")[1]) }.map { Int64($0) } ?? 0
            }
            let now = clock.now
            for v in versions where v > 1 && firstSeen[v] == nil { firstSeen[v] = now }
            for (v, seen) in firstSeen where spread[v] == nil && versions.allSatisfy({ $0 >= v }) { spread[v] = now - seen }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return spread
    }

    static func waitFor(tries: Int = 1_200, _ what: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<tries {
            if try await what() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// The guard settings of ServeReplayLearningTests (publications every 100 labels learnt).
    static func learnerSettings(_ c: inout ServeConfiguration) {
        ServeReplayLearningTests.settings(&c.trainer)
        c.training = true
        c.trainer.wakeInterval = .milliseconds(50)
        c.modelPollInterval = .milliseconds(100)
        // Long enough that three members on two loaded cores renew in time.
        c.learner.leaseTTL = .seconds(5)
    }

    @Test func threeInstancesSendEveryLabelOnceToOneLearner() async throws {
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("group-learn-tx"), labelsTopic = KafkaTestSupport.uniqueName("group-learn-labels")
        try KafkaTestSupport.createTopic(topic, partitions: 6, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let stream = ServeReplayLearningTests.stream(topic: topic, labelsTopic: labelsTopic)
        #expect(try await ServeTestSupport.seedModel(target, events: stream.events) == 1)
        let s = quoteIdentifier(target.schema)

        var c = try ServeTestSupport.configuration(brokers: brokers, topic: topic, group: KafkaTestSupport.uniqueName("g"), schema: target.schema)
        c.labelsTopic = labelsTopic
        c.exitWhenIdle = nil
        c.batchSize = 100
        Self.learnerSettings(&c)
        try ServeTestSupport.createTrainingTopic(c, brokers: brokers)
        let stop = StopSignal()
        let telemetry = (0..<3).map { _ in ServiceTelemetry() }
        let members = ["member-a", "member-b", "member-c"].enumerated().map { i, name -> Task<PipelineSummary, any Error> in
            var m = c
            m.memberName = name
            let t = telemetry[i]
            return Task { try await FraudPipeline(configuration: m, log: .silent, telemetry: t).run(stop: stop) }
        }
        defer { stop.stop() }
        let following = Task { await Self.versionSpread(telemetry, until: stop) }
        // Events scored before an instance's learning service started are not remembered
        // (their labels are unmatched): start the stream once the group has a learner.
        try #require(try await Self.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).learner_lease") == 1 })
        try await Task.sleep(for: .seconds(3))

        try await ServeTestSupport.produce(stream.events, brokers: brokers)
        try #require(try await Self.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= stream.events.count })
        try await ServeTestSupport.produce(stream.labels, brokers: brokers)
        try #require(try await Self.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).labels") >= stream.labels.count })
        // Every label sent once: each instance holds the vectors of its own partitions' events.
        let sentEverything = try await Self.waitFor(tries: 120) {
            try await Self.trainingExamples(c.learner.trainingTopic, brokers: brokers).count >= stream.labels.count
        }
        #expect(sentEverything)
        // The learner publishes at every 100th label learnt; wait for the last one due.
        let due = stream.labels.count / 100
        let publishedAll = try await Self.waitFor { try Self.published(target.schema).count >= min(due, 3) }
        try await Task.sleep(for: .seconds(2))  // nothing more may arrive in the topic
        // The training producers report what they sent to the broker (librdkafka statistics).
        let metric = { (name: String) in
            telemetry.reduce(0.0) { total, t in
                total + (String(decoding: t.exposition(), as: UTF8.self).split(separator: "\n")
                    .first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) } ?? 0)
            }
        }
        let (encoded, wire) = (metric("vigil_training_example_bytes_total"), metric("vigil_training_sent_wire_bytes_total"))
        print("training topic: \(Int(encoded)) encoded example bytes, \(Int(wire)) bytes sent to the broker")
        #expect(encoded > 0 && wire > 0)
        stop.stop()
        var decided = 0
        for member in members { decided += try await member.value.decided }
        // Every instance scores with each published version soon after it goes live (the
        // learner at once, the others at their next version poll, every 100 ms here).
        let spread = await following.value
        print("versions served by all three instances: \(spread.count), slowest \(spread.values.max() ?? .zero) after the first")
        #expect(!spread.isEmpty && spread.values.allSatisfy { $0 < .seconds(5) }, "seconds from a version's first instance to all three: \(spread)")

        #expect(decided == stream.events.count)
        let sent = try await Self.trainingExamples(c.learner.trainingTopic, brokers: brokers)
        #expect(sent.count == stream.labels.count)
        #expect(sent.events == Set(stream.labels.map { String(decoding: $0.key ?? [], as: UTF8.self) }))
        #expect(try ServeTestSupport.scalar("SELECT count(DISTINCT updated_by) FROM \(s).consumer_offsets WHERE topic = $1", [.text(topic)]) == 3)
        // One lineage. Normally one learner holds the role the whole run; a loaded machine
        // may starve a renewal past the TTL, and a handover must then keep the lineage too.
        let versions = try Self.published(target.schema)
        #expect(publishedAll, "published: \(versions)")
        Self.expectOneLineage(versions)
    }

    @Test func pausedAndKilledLearnersAreReplacedAndTheirTokensFenced() async throws {
        let binary = try ServeCrashTests.vigilExecutable()
        let brokers = try KafkaTestSupport.brokers()
        let topic = KafkaTestSupport.uniqueName("group-handover-tx"), labelsTopic = KafkaTestSupport.uniqueName("group-handover-labels")
        let trainingTopic = KafkaTestSupport.uniqueName("training")
        try KafkaTestSupport.createTopic(topic, partitions: 3, brokers: brokers)
        try KafkaTestSupport.createTopic(labelsTopic, partitions: 1, brokers: brokers)
        try KafkaTestSupport.createTopic(trainingTopic, partitions: 1, brokers: brokers)
        let target = try ServeTestSupport.migratedSchema()
        defer { ServeTestSupport.drop(target) }
        let stream = ServeReplayLearningTests.stream(topic: topic, labelsTopic: labelsTopic)
        #expect(try await ServeTestSupport.seedModel(target, events: stream.events) == 1)
        let s = quoteIdentifier(target.schema)
        let group = KafkaTestSupport.uniqueName("g")
        let child = try ServeTestSupport.childSettings(schema: target.schema, topic: topic, group: group, extra: [
            "labels_topic": labelsTopic, "training": true, "batch_size": 100,
            "training_labels_per_step": 1, "training_min_labels": 50, "training_publish_every_labels": 100,
            "training_publish_interval_ms": 3_000_000_000_000, "training_min_publish_gap_ms": 0, "training_guard_min_frauds": 3,
            // Any challenger not much worse passes: this checks the handover, not the guard's figures.
            "training_guard_margin_se": 100, "training_reconstruction_tolerance": 10,
            "learner": ["training_topic": trainingTopic, "lease_ttl_ms": 2_000],
        ])
        defer { try? FileManager.default.removeItem(at: child.folder) }
        func start() throws -> Process { try ServeTestSupport.startChild(binary, config: child.config, environment: child.environment) }
        var children = try (0..<3).map { _ in try start() }
        defer {
            for process in children where process.isRunning {
                kill(process.processIdentifier, SIGCONT)
                kill(process.processIdentifier, SIGKILL)
            }
        }
        /// The child holding the lease now (the holder is "<host>-<pid>-<nonce>"), and its token.
        func learner() throws -> (Process, Int64)? {
            let rows = try ServeTestSupport.rows("SELECT holder, token FROM \(s).learner_lease WHERE expires_at > now()")
            guard let row = rows.first else { return nil }
            let holder: String = try row.decode(0)
            guard let process = children.first(where: { holder.contains("-\($0.processIdentifier)-") }) else { return nil }
            return (process, try row.decode(1))
        }
        func publishedUnder(_ token: Int64) throws -> Bool { try Self.published(target.schema).contains { $0.token == token } }

        try await ServeTestSupport.produce(stream.events, brokers: brokers)
        try #require(try await Self.waitFor { try ServeTestSupport.scalar("SELECT count(*) FROM \(s).decisions") >= stream.events.count })
        // The labels in three parts, one per tenure (a learner learns a part within a second);
        // the later tenures get more, as they start with an empty guard window.
        let n = stream.labels.count
        let parts = [stream.labels[..<(n / 4)], stream.labels[(n / 4)..<(5 * n / 8)], stream.labels[(5 * n / 8)...]].map(Array.init)
        try await ServeTestSupport.produce(parts[0], brokers: brokers)
        // The first learner publishes, then is paused for well over the lease's TTL.
        try #require(try await Self.waitFor { try learner() != nil && publishedUnder(learner()!.1) }, Self.describe(target.schema))
        let (paused, first) = try #require(try learner())
        kill(paused.processIdentifier, SIGSTOP)
        let tookOver = try await Self.waitFor { (try learner()?.1 ?? first) > first }
        #expect(tookOver, "no member took the lease from the paused learner")
        let (second, token2) = try #require(try learner())
        #expect(second !== paused)
        // The paused learner's token is fenced: a publication under it is refused in the database.
        let fenced = ServeTestSupport.fails("SELECT \(s).check_learner_token($1, $2)", [.text(group), .int64(first)])
        #expect(fenced.contains("VL001"), "\(fenced)")
        // Woken up, the former learner finds the lease taken: whatever it learnt since its
        // last publication is never published (the checks below find no version of its token
        // after the new learner's).
        kill(paused.processIdentifier, SIGCONT)
        try await ServeTestSupport.produce(parts[1], brokers: brokers)
        // The new learner publishes on from the live version; then it is killed outright.
        #expect(try await Self.waitFor { try publishedUnder(token2) }, Self.describe(target.schema))
        kill(second.processIdentifier, SIGKILL)
        second.waitUntilExit()
        let replaced = try await Self.waitFor { (try learner()?.1 ?? token2) > token2 }
        #expect(replaced, "no member took the lease from the killed learner")
        children.removeAll { $0 === second }
        try await ServeTestSupport.produce(parts[2], brokers: brokers)
        if let (_, token3) = try learner() {
            #expect(try await Self.waitFor(tries: 600) { try publishedUnder(token3) }, Self.describe(target.schema))
        }
        for process in children where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in children { process.waitUntilExit() }

        let versions = try Self.published(target.schema)
        Self.expectOneLineage(versions)
        #expect(Set(versions.map(\.token)).count >= 2, "\(versions)")
    }
}
